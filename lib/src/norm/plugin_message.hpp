// The one place a plugin's message buffer is read.
#pragma once

#include <s8net/norm/plugin_api.h>

#include <cstring>
#include <string>

namespace s8net {

// The text a plugin left, up to its NUL or the end of the buffer (a plugin may fill it without
// one); "(no message)" when it left none.
inline std::string message_text(const s8net_message& message) {
  const std::string text(message.text, strnlen(message.text, sizeof message.text));
  return text.empty() ? "(no message)" : text;
}

}  // namespace s8net
