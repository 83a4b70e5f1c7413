#pragma once
// Errors the core reports to its front ends. Every message is meant to be shown to a user as is:
// it says what went wrong and, where there is one, what to do about it.
#include <stdexcept>
#include <string>

namespace quantscope {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string hint = {})
      : std::runtime_error(message), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }
  // Message and hint in one text, for a CLI line or a message box.
  std::string fullMessage() const { return hint_.empty() ? what() : std::string(what()) + "\n" + hint_; }

 private:
  std::string hint_;
};

// The user cancelled a run; nothing it would have produced was kept.
class CancelledError : public Error {
 public:
  CancelledError() : Error("Cancelled by the user; earlier results are unchanged.") {}
};

// A technique that exists in the API but is not built yet. Never answered with a fake result.
class NotAvailableError : public Error {
 public:
  using Error::Error;
};

}  // namespace quantscope
