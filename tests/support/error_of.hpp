// The message of the s8net::Error a call throws (a test failure when it throws none).
#pragma once

#include <s8net/core/error.hpp>

#include <gtest/gtest.h>

#include <string>

namespace s8net::test {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no s8net::Error thrown";
  return {};
}

}  // namespace s8net::test
