#pragma once
// Typed jobs over every kind of key and value the pipeline takes, and an oracle for each
// written independently (plain std::map over istringstream words), shared by the MPI test
// (1-4 ranks) and the pool test. The jobs are registered with MR_JOB so pool workers run them.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mr/mr.hpp"

namespace typed {

/// A plain struct value (trivially copyable: raw bytes, lives in the table slot).
struct Avg {
  double sum = 0;
  long n = 0;
  friend bool operator==(const Avg&, const Avg&) = default;
};
inline Avg add_avg(const Avg& a, const Avg& b) { return Avg{a.sum + b.sum, a.n + b.n}; }

/// A key class that needs Boost.Serialization (a string member).
struct Tag {
  std::string prefix;
  int length = 0;
  friend bool operator==(const Tag&, const Tag&) = default;
  friend bool operator<(const Tag& a, const Tag& b) { return std::tie(a.prefix, a.length) < std::tie(b.prefix, b.length); }
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & prefix & length;
  }
};

/// A value class that needs Boost.Serialization (a vector member; lives beside the table).
struct Hist {
  std::vector<long> counts;  // counts[i]: words whose last digit is i
  friend bool operator==(const Hist&, const Hist&) = default;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & counts;
  }
};
inline Hist add_hist(const Hist& a, const Hist& b) {
  Hist out = a.counts.size() >= b.counts.size() ? a : b;
  const Hist& other = a.counts.size() >= b.counts.size() ? b : a;
  for (std::size_t i = 0; i < other.counts.size(); ++i) out.counts[i] += other.counts[i];
  return out;
}
inline Hist hist_of(std::string_view word) {
  Hist h;
  h.counts.assign(10, 0);
  h.counts[static_cast<std::size_t>(static_cast<unsigned char>(word.back()) % 10)] = 1;
  return h;
}

inline std::string longer(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() > b.size() ? a : b;
  return std::min(a, b);
}

// ---- the jobs: map functions over lines ---------------------------------------------------

inline constexpr auto count_map = [](std::string_view line, auto& emit) {
  for (auto w : mr::split_words(line)) emit(w, 1L);
};
inline constexpr auto half_map = [](std::string_view line, auto& emit) {
  mr::for_each_word(line, [&](std::string_view w) { emit(w, 0.5); });
};
inline constexpr auto length_map = [](std::string_view line, auto& emit) {
  mr::for_each_word(line, [&](std::string_view w) { emit(static_cast<int>(w.size()), 1L); });
};
inline constexpr auto avg_map = [](std::string_view line, auto& emit) {
  for (auto w : mr::split_words(line)) emit(int(w.size()), Avg{0.5 * static_cast<double>(w.size()), 1});
};
inline constexpr auto pair_map = [](std::string_view line, auto& emit) {
  mr::for_each_word(line, [&](std::string_view w) {
    emit(std::pair<std::string, int>(std::string(w.substr(0, 2)), static_cast<int>(line.size() % 5)), 1L);
  });
};
inline constexpr auto tuple_map = [](std::string_view line, auto& emit) {
  mr::for_each_word(line, [&](std::string_view w) {
    emit(std::tuple<int, std::string, char>(static_cast<int>(w.size()), std::string(w.substr(0, 1)), w.back()), 2L);
  });
};
inline constexpr auto tag_map = [](std::string_view line, auto& emit) {
  mr::for_each_word(line, [&](std::string_view w) { emit(Tag{std::string(w.substr(0, 2)), static_cast<int>(w.size())}, hist_of(w)); });
};
inline constexpr auto longest_map = [](std::string_view line, auto& emit) {
  mr::for_each_word(line, [&](std::string_view w) { emit(w.substr(0, 2), std::string(line)); });
};

inline const auto string_long = mr::make_job<std::string, long>("typed.string_long", count_map, std::plus<>{});
inline const auto string_double = mr::make_job<std::string, double>("typed.string_double", half_map, std::plus<>{});
inline const auto int_long = mr::make_job<int, long>("typed.int_long", length_map, std::plus<>{});
inline const auto int_avg =
    mr::make_job<int, Avg>("typed.int_avg", avg_map, [](const Avg& a, const Avg& b) { return add_avg(a, b); });
inline const auto pair_long =
    mr::make_job<std::pair<std::string, int>, long>("typed.pair_long", pair_map, std::plus<>{});
inline const auto tuple_long =
    mr::make_job<std::tuple<int, std::string, char>, long>("typed.tuple_long", tuple_map, std::plus<>{});
inline const auto tag_hist =
    mr::make_job<Tag, Hist>("typed.tag_hist", tag_map, [](const Hist& a, const Hist& b) { return add_hist(a, b); });
inline const auto string_string = mr::make_job<std::string, std::string>(
    "typed.string_string", longest_map, [](const std::string& a, const std::string& b) { return longer(a, b); });

// ---- input and oracles ---------------------------------------------------------------------

/// Deterministic text: words "w<n>", a few long ones (arena keys), CRLF lines, an empty line.
inline std::string generated_text(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    for (int w = 0; w <= i % 6; ++w) {
      text += "w" + std::to_string((i * 31 + w * 17) % 211);
      if ((i + w) % 23 == 0) text += "-a-rather-long-word-that-lives-in-the-arena";
      text += w % 3 ? " " : "\t";
    }
    text += i % 7 == 0 ? "\r\n" : (i % 11 == 0 ? "\n\n" : "\n");
  }
  return text;
}

/// The lines of `text` as the engine defines them (no '\n', no trailing '\r').
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

inline std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

/// Calls f(line, word) for every word of every line.
template <class F>
void each_word(const std::string& text, F&& f) {
  for (const auto& line : lines_of(text))
    for (const auto& w : words_of(line)) f(line, w);
}

struct Expected {
  std::map<std::string, long> string_long;
  std::map<std::string, double> string_double;
  std::map<int, long> int_long;
  std::map<int, Avg> int_avg;
  std::map<std::pair<std::string, int>, long> pair_long;
  std::map<std::tuple<int, std::string, char>, long> tuple_long;
  std::map<Tag, Hist> tag_hist;
  std::map<std::string, std::string> string_string;
};

inline Expected oracle(const std::string& text) {
  Expected e;
  each_word(text, [&](const std::string& line, const std::string& w) {
    e.string_long[w] += 1;
    e.string_double[w] += 0.5;
    e.int_long[static_cast<int>(w.size())] += 1;
    auto& avg = e.int_avg[static_cast<int>(w.size())];
    avg.sum += 0.5 * static_cast<double>(w.size());
    avg.n += 1;
    e.pair_long[{w.substr(0, 2), static_cast<int>(line.size() % 5)}] += 1;
    e.tuple_long[{static_cast<int>(w.size()), w.substr(0, 1), w.back()}] += 2;
    auto [it, fresh] = e.tag_hist.try_emplace(Tag{w.substr(0, 2), static_cast<int>(w.size())}, hist_of(w));
    if (!fresh) it->second = add_hist(it->second, hist_of(w));
    auto [jt, first] = e.string_string.try_emplace(w.substr(0, 2), line);
    if (!first) jt->second = longer(jt->second, line);
  });
  return e;
}

}  // namespace typed

// Pool workers find the jobs by these registrations (the same executable runs in every process).
MR_JOB(typed::string_long);
MR_JOB(typed::string_double);
MR_JOB(typed::int_long);
MR_JOB(typed::int_avg);
MR_JOB(typed::pair_long);
MR_JOB(typed::tuple_long);
MR_JOB(typed::tag_hist);
MR_JOB(typed::string_string);
