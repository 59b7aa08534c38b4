#include "sock/fdtable.hh"

#include <cerrno>

namespace skiff {

FdTable::FdTable(unsigned limit) { set_limit(limit); }

void FdTable::set_limit(unsigned limit) {
  if (limit < kFirstFd + 1) limit = kFirstFd + 1;
  if (limit < entries_.size()) return;  // never shrink below descriptors in use
  entries_.resize(limit);
  const size_t words = (limit + 63) / 64;
  used_bits_.resize(words, 0);
  full_words_.resize((words + 63) / 64, 0);
  // Descriptors 0..2 are never handed out; bits past the limit count as taken.
  for (int fd = 0; fd < kFirstFd; ++fd) used_bits_[0] |= uint64_t{1} << fd;
  for (size_t b = limit; b < words * 64; ++b) used_bits_[b / 64] |= uint64_t{1} << (b % 64);
  for (size_t w = 0; w < words; ++w) {
    if (used_bits_[w] == ~uint64_t{0}) {
      full_words_[w / 64] |= uint64_t{1} << (w % 64);
    } else {
      full_words_[w / 64] &= ~(uint64_t{1} << (w % 64));
    }
  }
}

int FdTable::alloc(FdKind kind) {
  for (size_t s = 0; s < full_words_.size(); ++s) {
    const uint64_t not_full = ~full_words_[s];
    if (!not_full) continue;
    const size_t w = s * 64 + static_cast<size_t>(__builtin_ctzll(not_full));
    if (w >= used_bits_.size()) break;
    const unsigned bit = static_cast<unsigned>(__builtin_ctzll(~used_bits_[w]));
    used_bits_[w] |= uint64_t{1} << bit;
    if (used_bits_[w] == ~uint64_t{0}) full_words_[w / 64] |= uint64_t{1} << (w % 64);
    const int fd = static_cast<int>(w * 64 + bit);
    FdEntry& e = entries_[fd];
    const uint32_t gen = e.gen + 1;
    e = FdEntry{};
    e.kind = kind;
    e.gen = gen;
    ++used_;
    return fd;
  }
  return -EMFILE;
}

void FdTable::release(int fd) {
  if (fd < kFirstFd || static_cast<unsigned>(fd) >= entries_.size()) return;
  FdEntry& e = entries_[fd];
  if (e.kind == FdKind::Free) return;
  const uint32_t gen = e.gen;
  e = FdEntry{};
  e.gen = gen;
  const size_t w = static_cast<size_t>(fd) / 64;
  used_bits_[w] &= ~(uint64_t{1} << (fd % 64));
  full_words_[w / 64] &= ~(uint64_t{1} << (w % 64));
  --used_;
}

}  // namespace skiff
