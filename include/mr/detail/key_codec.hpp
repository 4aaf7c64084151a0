#pragma once
/// \file key_codec.hpp
/// Keys and values of typed MapReduce jobs as flat bytes, through the one codec of mr
/// (wire.hpp's Encoder/Decoder). A key's bytes are what the flat table hashes and compares,
/// so equal keys must have equal bytes:
///   - std::string: its bytes as they are (a string_view emitted for it is used in place);
///   - numbers, enums, and structs without padding bytes: their object bytes;
///   - std::pair / std::tuple of keys: the elements in order (strings length-prefixed);
///   - anything else: its Boost.Serialization binary archive.
/// Values travel in the shuffle the same way; plain structs (padding allowed) as raw bytes.

#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "mr/detail/wire.hpp"

namespace mr::detail {

/// Key types whose object bytes identify them (no padding, no pointers).
template <class K>
inline constexpr bool is_raw_key_v =
    (std::is_arithmetic_v<K> || std::is_enum_v<K> ||
     (std::is_class_v<K> && std::is_trivially_copyable_v<K> && std::has_unique_object_representations_v<K> &&
      !is_tuple_like<K>::value)) &&
    !std::is_same_v<K, bool>;

/// Whether every key of type K has one byte form.
template <class K>
inline constexpr bool is_encodable_key_v = [] {
  if constexpr (std::is_same_v<K, std::string> || is_raw_key_v<K> || std::is_same_v<K, bool>) {
    return true;
  } else if constexpr (is_tuple_like<K>::value) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (is_encodable_key_v<std::tuple_element_t<I, K>> && ...);
    }(std::make_index_sequence<std::tuple_size_v<K>>{});
  } else {
    // A class with padding bytes but no serialize() would hash its padding: those need a
    // serialize() function, which the archive path uses.
    return std::is_class_v<K> && std::is_default_constructible_v<K> && !std::is_trivially_copyable_v<K>;
  }
}();

/// The byte form of `key`; views into `key` itself for strings, else encoded into `scratch`.
template <class K, class Key>
std::string_view key_bytes(const Key& key, Bytes& scratch) {
  if constexpr (std::is_same_v<K, std::string>) {
    return std::string_view(key);
  } else if constexpr (is_raw_key_v<K>) {
    const K converted(key);
    scratch.assign(reinterpret_cast<const char*>(&converted), sizeof converted);
    return scratch;
  } else {
    scratch.clear();
    Encoder(scratch).value(static_cast<const K&>(key));
    return scratch;
  }
}

/// The key whose byte form is `bytes`. Throws WireError for bytes no key encodes to.
template <class K>
K decode_key(std::string_view bytes) {
  if constexpr (std::is_same_v<K, std::string>) {
    return K(bytes);
  } else if constexpr (is_raw_key_v<K>) {
    if (bytes.size() != sizeof(K)) throw WireError("mr: malformed key: wrong size");
    K key;
    std::memcpy(&key, bytes.data(), sizeof key);
    return key;
  } else {
    return decode_value<K>(bytes);
  }
}

}  // namespace mr::detail
