#pragma once

#include <boost/assert/source_location.hpp>

#include <ostream>
#include <stdexcept>
#include <string>

namespace parley::core {

/// What went wrong, in words for a log or a person: the error half of
/// `boost::system::result<T, Failure>` for start-up and administration code, where a message
/// matters more than a code. (A distinct type keeps `result<std::string, Failure>` unambiguous.)
struct Failure {
  std::string message;
};

inline std::ostream& operator<<(std::ostream& os, const Failure& failure) { return os << failure.message; }

/// Lets `result<T, Failure>::value()` throw (found by argument-dependent lookup).
[[noreturn]] inline void throw_exception_from_error(const Failure& failure, const boost::source_location&) {
  throw std::runtime_error(failure.message);
}

} // namespace parley::core
