// The one exception type s8net throws: its message names the file, flag or layer and the reason.
#pragma once

#include <stdexcept>
#include <string>

namespace s8net {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace s8net
