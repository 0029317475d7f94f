// Result<T>: a value or a list of error messages. The config module reports every problem it
// finds this way (all of them at once, not just the first); nothing in it throws.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kfk::config {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)

  static Result failure(std::string message) {
    Result r;
    r.errors_.push_back(std::move(message));
    return r;
  }
  // `messages` must not be empty.
  static Result failure(std::vector<std::string> messages) {
    Result r;
    r.errors_ = std::move(messages);
    return r;
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  // Only on success.
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

  // Empty on success.
  const std::vector<std::string>& errors() const { return errors_; }
  // The errors, one per line.
  std::string error_text() const {
    std::string out;
    for (const auto& e : errors_) {
      if (!out.empty()) out += '\n';
      out += e;
    }
    return out;
  }

 private:
  Result() = default;

  std::optional<T> value_;
  std::vector<std::string> errors_;
};

}  // namespace kfk::config
