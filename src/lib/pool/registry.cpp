#include "mr/detail/registry.hpp"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <typeinfo>

namespace mr::detail {

Registry& Registry::instance() {
  // Function-local static: constructed on first MR_TASK, whatever the static-init order.
  static Registry registry;
  return registry;
}

bool Registry::add(std::string name, const void* function, Invoker invoker) {
  auto [it, inserted] = by_name_.try_emplace(name, Entry{invoker, function, false});
  if (!inserted && it->second.function != function) it->second.ambiguous = true;
  by_function_.try_emplace(function, std::move(name));
  return true;
}

Invoker Registry::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end() || it->second.ambiguous) return nullptr;
  return it->second.invoker;
}

const std::string* Registry::name_of(const void* function) const {
  auto it = by_function_.find(function);
  return it == by_function_.end() ? nullptr : &it->second;
}

bool Registry::ambiguous(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it != by_name_.end() && it->second.ambiguous;
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> text(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                   &std::free);
  return status == 0 && text ? std::string(text.get()) : std::string(mangled);
}

std::string describe_function(const void* function) {
  Dl_info info{};
  if (dladdr(function, &info) != 0 && info.dli_sname != nullptr) return demangle(info.dli_sname);
  char address[32];
  std::snprintf(address, sizeof(address), "%p", function);
  return std::string("the function at ") + address;
}

const std::string& task_name_of(const void* function) {
  const std::string* name = Registry::instance().name_of(function);
  if (name == nullptr)
    throw UsageError("mr: " + describe_function(function) +
                     " is not a registered task: add MR_TASK(<function name>) at namespace scope "
                     "next to its definition");
  if (Registry::instance().ambiguous(*name))
    throw UsageError("mr: task name '" + *name +
                     "' is registered for two different functions: give one of them another "
                     "name with MR_TASK_NAMED(fn, \"name\")");
  return *name;
}

RemoteErrorInfo describe_current_exception() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  RemoteErrorInfo info;
  info.type_name = type ? demangle(type->name()) : "unknown";
  try {
    throw;
  } catch (const RemoteError& e) {
    // A nested pool's RemoteError: report the original exception, not the wrapper.
    info.code = e.code();
    info.type_name = e.type_name();
    info.message = e.remote_message();
  } catch (const std::exception& e) {
    info.code = error_code_of(e);
    info.message = e.what();
  } catch (...) {
    info.message = "(exception not derived from std::exception)";
  }
  return info;
}

}  // namespace mr::detail
