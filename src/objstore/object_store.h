// ObjectStore: where the stores keep their immutable blocks (metrics blocks, trace blocks), on a
// local directory now and on S3 later, behind one interface shaped like S3's so that the S3
// implementation fits without changing callers.
//
// Keys are '/'-separated relative paths ("tenant/01HXYZ.../meta.json"). Every implementation
// accepts the same keys (ValidateKey): not empty, at most 1024 bytes (S3's limit), no leading
// '/', no empty segment (so no trailing '/' and no "//"), no "." or ".." segment, no NUL, no
// segment longer than 255 bytes (a file name's limit) and no segment starting with ".sprout-"
// (reserved for the implementations' own files, such as the temporary files of in-flight Puts).
// An invalid key is kInvalidArgument, whatever the operation.
//
// Guarantees, for every implementation:
//  - Put and PutFile are atomic: a reader sees the old object or the new one in full, never a
//    part of one, and a List never shows an object that is still being written. When they
//    return OK the object is durable (for the filesystem: it survives a machine crash).
//  - Objects are immutable once written; a Put to an existing key replaces it as a whole.
//  - After a Put returns, Get, Attributes and List of any thread see the new object (S3 has
//    been strongly consistent for this since December 2020).
//  - Delete and DeletePrefix are not atomic across keys: after an error or a crash any subset of
//    the keys may remain. A store that needs a block to disappear as one deletes (or marks) the
//    block's meta file first, so readers ignore the rest.
//
// Errors: kNotFound for an object that does not exist (Get, GetRange, Attributes);
// kInvalidArgument for an invalid key or prefix; kOutOfRange for a range that starts past the
// end of the object; kFailedPrecondition for a key that the store cannot hold beside an existing
// one (the filesystem cannot store both "a/b" and "a/b/c"); otherwise the backend's error
// (kResourceExhausted for a full disk, kUnavailable or kDeadlineExceeded for a remote that did
// not answer, kInternal for I/O errors), its message naming the operation and the key.
//
// Thread-safety: every method may be called from any thread at any time, concurrently with any
// other; concurrent Puts to one key leave one of them in place, whole.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sprout::objstore {

struct ObjectAttributes {
  uint64_t size = 0;
  absl::Time last_modified;  // when the object was written (S3's Last-Modified)
};

struct ListOptions {
  // false: every key under the prefix, at any depth. true: as S3's ListObjectsV2 with
  // Delimiter "/": keys with no further '/' after the prefix are listed as keys, and the others
  // are rolled up into one common prefix each, ending in '/' ("tenant/01HX.../").
  bool delimited = false;
};

struct ListResult {
  std::vector<std::string> keys;      // whole keys (prefix included), sorted bytewise
  std::vector<std::string> prefixes;  // with `delimited`: common prefixes, sorted, each ends in '/'
};

// Repeated ranged reads of one object (a block's chunk segment): ObjectStore::OpenRangeReader.
// Read has GetRange's contract for that key. Thread-safe: many threads may read at once.
class RangeReader {
 public:
  virtual ~RangeReader() = default;
  virtual absl::StatusOr<std::string> Read(uint64_t offset, uint64_t length) = 0;
};

class ObjectStore {
 public:
  // For GetRange: up to the end of the object.
  static constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();

  virtual ~ObjectStore() = default;

  // Stores `data` as `key`, replacing any object there; atomic and durable when it returns OK.
  virtual absl::Status Put(std::string_view key, std::string_view data) = 0;

  // Stores the contents of the local file `local_path` (read through the storage::Env the store
  // was given) as `key`, streaming it, so multi-hundred-MB files need no buffer of their size
  // (the memory store keeps a copy, of course). Atomic and durable as Put. A missing local file
  // is kNotFound naming the file; the caller must not change the file while it is stored.
  virtual absl::Status PutFile(std::string_view key, const std::string& local_path) = 0;

  // The whole object; kNotFound when there is none.
  virtual absl::StatusOr<std::string> Get(std::string_view key) = 0;

  // Bytes [offset, offset + length) of the object, cut at its end: fewer than `length` bytes
  // only when the object ends first (kToEnd reads to the end). An offset equal to the size gives
  // ""; a larger one is kOutOfRange. kNotFound when there is no object.
  virtual absl::StatusOr<std::string> GetRange(std::string_view key, uint64_t offset,
                                               uint64_t length) = 0;

  // Size and last-modified time; kNotFound when there is no object.
  virtual absl::StatusOr<ObjectAttributes> Attributes(std::string_view key) = 0;

  // Keys that start with `prefix` (a plain string prefix as in S3: "tenant/01H" matches
  // "tenant/01HX/meta.json"; "" lists everything). Sorted bytewise; an empty result is OK.
  virtual absl::StatusOr<ListResult> List(std::string_view prefix,
                                          const ListOptions& options = {}) = 0;

  // Removes the object; OK when there is none (as S3's DeleteObject).
  virtual absl::Status Delete(std::string_view key) = 0;

  // Removes every object whose key starts with `prefix` ("tenant/01HX.../" for one block: mind
  // the trailing '/', without it "tenant/01HX" would also match "tenant/01HXY..."). An empty
  // prefix is kInvalidArgument: a whole store is never deleted by accident. Not atomic (see
  // above); OK when nothing matched.
  virtual absl::Status DeletePrefix(std::string_view prefix) = 0;

  // For log lines and error messages: "filesystem:/data/blocks", "memory".
  virtual std::string Describe() const = 0;

  // A reader for many ranged reads of `key`, for objects that are never rewritten in place (a
  // block's files). The default reads each range with GetRange (so wrappers that inject faults
  // see every read); the filesystem store opens the file once and reads it with pread, so a
  // reader keeps reading the object it opened even after the object is deleted. kNotFound when
  // there is no object (the filesystem store; the default finds out at the first Read).
  virtual absl::StatusOr<std::unique_ptr<RangeReader>> OpenRangeReader(std::string_view key);

  // Helpers over the operations above.

  // OK(true) when the object exists, OK(false) when not.
  absl::StatusOr<bool> Exists(std::string_view key);
};

// OK, or kInvalidArgument saying what is wrong with `key` (the rules above).
absl::Status ValidateKey(std::string_view key);

// OK, or kInvalidArgument: a prefix for List and DeletePrefix follows the key rules except that
// it may be empty, may end with '/' and may end in the middle of a segment.
absl::Status ValidatePrefix(std::string_view prefix);

// The reserved start of key segments (the implementations' own files).
inline constexpr std::string_view kReservedSegmentPrefix = ".sprout-";

}  // namespace sprout::objstore
