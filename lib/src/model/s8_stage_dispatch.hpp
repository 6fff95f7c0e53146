// The one switch over a stage's kind: the plans' builders and the summary each give a handler with
// a member per kind, and for_each_stage calls it for every stage in table order (after the
// handler's begin_stage, if it has one).
#pragma once

#include "s8_architecture.hpp"

#include <cstddef>

namespace s8net::s8 {

template <typename Handler>
void for_each_stage(Handler& handler) {
  for (std::size_t i = 0; i < kStages.size(); ++i) {
    if constexpr (requires { handler.begin_stage(i); }) handler.begin_stage(i);
    switch (kStages[i].kind) {
      case StageKind::conv_norm_relu:
        handler.conv_norm_relu(i);
        break;
      case StageKind::conv1x1:
        handler.conv1x1(i);
        break;
      case StageKind::pool_dropout:
        handler.pool_dropout(i);
        break;
      case StageKind::global_pool:
        handler.global_pool(i);
        break;
      case StageKind::head:
        handler.head(i);
        break;
    }
  }
}

}  // namespace s8net::s8
