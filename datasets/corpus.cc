#include "datasets/corpus.h"

#include <hdf5.h>

#include <filesystem>
#include <functional>

#include "base/atomic_file.h"
#include "base/error.h"
#include "datasets/digest.h"

namespace plotforge {

std::uint64_t CorpusData::split_tokens(Split s) const {
  std::uint64_t n = 0;
  for (const auto& d : documents) {
    if (d.split == s) n += d.token_end - d.token_begin;
  }
  return n;
}

namespace {

// Closes an HDF5 handle when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  operator hid_t() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path), file_(create(path), H5Fclose) {}

  void group(const char* name) {
    Handle g(H5Gcreate2(file_, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    check(g.ok(), name);
  }

  template <typename T>
  void numbers(const char* name, const std::vector<T>& v, hid_t type, hsize_t chunk = 16384) {
    const hsize_t n = v.size();
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (n > 0) {
      const hsize_t c = std::min<hsize_t>(n, chunk);
      H5Pset_chunk(plist, 1, &c);
      H5Pset_shuffle(plist);
      H5Pset_deflate(plist, 4);
    }
    Handle ds(H5Dcreate2(file_, name, type, space, H5P_DEFAULT, plist, H5P_DEFAULT), H5Dclose);
    check(ds.ok(), name);
    if (n > 0) check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0, name);
  }

  void strings(const char* name, const std::vector<std::string>& v) {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const hsize_t n = v.size();
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (n > 0) {
      const hsize_t c = std::min<hsize_t>(n, 4096);
      H5Pset_chunk(plist, 1, &c);
      H5Pset_deflate(plist, 4);
    }
    Handle ds(H5Dcreate2(file_, name, type, space, H5P_DEFAULT, plist, H5P_DEFAULT), H5Dclose);
    check(ds.ok(), name);
    std::vector<const char*> ptrs;
    for (const auto& s : v) ptrs.push_back(s.c_str());
    if (n > 0) check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0, name);
  }

  void attr_int(const char* name, long long value) {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle a(H5Acreate2(file_, name, H5T_NATIVE_LLONG, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    check(a.ok() && H5Awrite(a, H5T_NATIVE_LLONG, &value) >= 0, name);
  }

  void attr_string(const char* name, const std::string& value) {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle a(H5Acreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const char* p = value.c_str();
    check(a.ok() && H5Awrite(a, type, &p) >= 0, name);
  }

  void close() { check(H5Fflush(file_, H5F_SCOPE_GLOBAL) >= 0, "/"); }

 private:
  static hid_t create(const std::string& path) {
    quiet_hdf5();
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) throw InputError(path + ": cannot create HDF5 file (is the directory writable?)");
    return f;
  }
  void check(bool ok, const char* name) {
    if (!ok) throw InputError(path_ + ": HDF5 write of " + name + " failed (disk full?)");
  }
  std::string path_;
  Handle file_;
};

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), file_(open(path), H5Fclose) {}

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw InputError(path_ + ": " + where + ": " + what +
                     "; this is not a valid plotforge corpus, so re-run 'plotforge prepare'");
  }

  hsize_t length(const char* name) const {
    Handle ds(H5Dopen2(file_, name, H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) fail(name, "dataset missing");
    Handle space(H5Dget_space(ds), H5Sclose);
    if (H5Sget_simple_extent_ndims(space) != 1) fail(name, "expected a 1-D dataset");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space, &n, nullptr);
    return n;
  }

  template <typename T>
  std::vector<T> numbers(const char* name, hid_t mem_type, hsize_t expect_len = ~hsize_t{0}) const {
    const hsize_t n = length(name);
    if (expect_len != ~hsize_t{0} && n != expect_len) {
      fail(name, "has " + std::to_string(n) + " entries, expected " + std::to_string(expect_len));
    }
    std::vector<T> v(n);
    Handle ds(H5Dopen2(file_, name, H5P_DEFAULT), H5Dclose);
    Handle type(H5Dget_type(ds), H5Tclose);
    if (H5Tget_class(type) != H5T_INTEGER) fail(name, "expected integers");
    if (n > 0 && H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) {
      fail(name, "read failed (truncated or corrupt file)");
    }
    return v;
  }

  std::vector<std::string> strings(const char* name, hsize_t expect_len) const {
    const hsize_t n = length(name);
    if (n != expect_len) fail(name, "has " + std::to_string(n) + " entries, expected " + std::to_string(expect_len));
    Handle ds(H5Dopen2(file_, name, H5P_DEFAULT), H5Dclose);
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    std::vector<char*> ptrs(n, nullptr);
    if (n > 0 && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
      fail(name, "read failed (expected variable-length strings)");
    }
    std::vector<std::string> out;
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    if (n > 0) {
      Handle space(H5Dget_space(ds), H5Sclose);
      H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
    }
    return out;
  }

  long long attr_int(const char* name) const {
    if (H5Aexists(file_, name) <= 0) fail(std::string("attribute ") + name, "missing");
    Handle a(H5Aopen(file_, name, H5P_DEFAULT), H5Aclose);
    long long v = 0;
    if (H5Aread(a, H5T_NATIVE_LLONG, &v) < 0) fail(std::string("attribute ") + name, "not an integer");
    return v;
  }

  std::string attr_string(const char* name) const {
    if (H5Aexists(file_, name) <= 0) fail(std::string("attribute ") + name, "missing");
    Handle a(H5Aopen(file_, name, H5P_DEFAULT), H5Aclose);
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    Handle stored(H5Aget_type(a), H5Tclose);
    if (H5Tget_class(stored) != H5T_STRING || !H5Tis_variable_str(stored)) {
      fail(std::string("attribute ") + name, "not a variable-length string");
    }
    char* p = nullptr;
    if (H5Aread(a, type, &p) < 0) fail(std::string("attribute ") + name, "not a string");
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }

 private:
  static hid_t open(const std::string& path) {
    quiet_hdf5();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw InputError(path + ": corpus not found; create it with 'plotforge prepare'");
    }
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      throw InputError(path + ": not an HDF5 file (truncated or foreign); re-run 'plotforge prepare'");
    }
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) throw InputError(path + ": HDF5 cannot open it (truncated?); re-run 'plotforge prepare'");
    return f;
  }
  std::string path_;
  Handle file_;
};

std::string join_genres(const std::vector<std::string>& g) {
  std::string s;
  for (const auto& x : g) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::vector<std::string> split_genres(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

}  // namespace

void write_corpus(const std::string& path, const CorpusData& data) {
  AtomicPath out(path);
  {
    Writer w(out.temp_path());
    const bool small = data.vocab_size <= 65536;
    if (small) {
      std::vector<std::uint16_t> t16(data.tokens.begin(), data.tokens.end());
      w.numbers("/tokens", t16, H5T_STD_U16LE, 65536);
    } else {
      w.numbers("/tokens", data.tokens, H5T_STD_U32LE, 65536);
    }
    w.group("/documents");
    std::vector<std::uint64_t> doc_off = {0}, scene_off = {0};
    std::vector<std::uint8_t> split;
    std::vector<std::string> titles, sources, genres;
    std::size_t scene = 0;
    for (std::size_t d = 0; d < data.documents.size(); ++d) {
      const auto& doc = data.documents[d];
      if (doc.token_begin != doc_off.back()) {
        throw std::logic_error("write_corpus: documents must tile the token stream");
      }
      doc_off.push_back(doc.token_end);
      while (scene < data.scenes.size() && data.scenes[scene].document == d) ++scene;
      scene_off.push_back(scene);
      split.push_back(static_cast<std::uint8_t>(doc.split));
      titles.push_back(doc.title);
      sources.push_back(doc.source);
      genres.push_back(join_genres(doc.genres));
    }
    w.numbers("/documents/token_offsets", doc_off, H5T_STD_U64LE);
    w.numbers("/documents/scene_offsets", scene_off, H5T_STD_U64LE);
    w.numbers("/documents/split", split, H5T_STD_U8LE);
    w.strings("/documents/title", titles);
    w.strings("/documents/source", sources);
    w.strings("/documents/genres", genres);
    w.group("/scenes");
    std::vector<std::uint64_t> sb, se;
    std::vector<std::int32_t> act;
    std::vector<std::string> beat, emotion, valence;
    std::vector<std::uint8_t> derived;
    for (const auto& s : data.scenes) {
      sb.push_back(s.token_begin);
      se.push_back(s.token_end);
      act.push_back(s.act);
      beat.push_back(s.beat);
      emotion.push_back(s.emotion);
      valence.push_back(s.valence);
      derived.push_back(s.emotion_derived ? 1 : 0);
    }
    w.numbers("/scenes/token_begin", sb, H5T_STD_U64LE);
    w.numbers("/scenes/token_end", se, H5T_STD_U64LE);
    w.numbers("/scenes/act", act, H5T_STD_I32LE);
    w.strings("/scenes/beat", beat);
    w.strings("/scenes/emotion", emotion);
    w.strings("/scenes/valence", valence);
    w.numbers("/scenes/emotion_derived", derived, H5T_STD_U8LE);
    w.group("/control_tokens");
    std::vector<std::string> names;
    std::vector<std::int32_t> ids;
    for (const auto& [n, id] : data.control_tokens) {
      names.push_back(n);
      ids.push_back(id);
    }
    w.strings("/control_tokens/name", names);
    w.numbers("/control_tokens/id", ids, H5T_STD_I32LE);
    w.group("/tokenizer");
    w.numbers("/tokenizer/model", std::vector<std::uint8_t>(data.tokenizer_model.begin(), data.tokenizer_model.end()),
              H5T_STD_U8LE);
    w.attr_string("format", "plotforge-corpus");
    w.attr_int("schema_version", kCorpusSchemaVersion);
    w.attr_string("tokenizer_sha256", data.tokenizer_sha256);
    w.attr_string("token_dtype", small ? "uint16" : "uint32");
    w.attr_int("vocab_size", data.vocab_size);
    w.attr_int("eos_id", data.eos_id);
    w.attr_int("newline_id", data.newline_id);
    w.attr_int("n_tokens", static_cast<long long>(data.tokens.size()));
    w.attr_int("n_documents", static_cast<long long>(data.documents.size()));
    w.attr_int("n_scenes", static_cast<long long>(data.scenes.size()));
    w.attr_int("n_train_tokens", static_cast<long long>(data.split_tokens(Split::kTrain)));
    w.attr_int("n_validation_tokens", static_cast<long long>(data.split_tokens(Split::kValidation)));
    w.close();
  }  // the HDF5 file is closed here, before the rename
  out.commit();
}

CorpusData read_corpus(const std::string& path) {
  Reader r(path);
  CorpusData c;
  if (r.attr_string("format") != "plotforge-corpus") r.fail("attribute format", "is not 'plotforge-corpus'");
  const long long version = r.attr_int("schema_version");
  if (version < 1 || version > kCorpusSchemaVersion) {
    r.fail("attribute schema_version", "is " + std::to_string(version) + ", this build reads 1 to " +
                                           std::to_string(kCorpusSchemaVersion) +
                                           (version > kCorpusSchemaVersion ? "; update plotforge" : ""));
  }
  c.tokenizer_sha256 = r.attr_string("tokenizer_sha256");
  c.vocab_size = static_cast<std::int32_t>(r.attr_int("vocab_size"));
  c.eos_id = static_cast<std::int32_t>(r.attr_int("eos_id"));
  c.newline_id = static_cast<std::int32_t>(r.attr_int("newline_id"));
  c.tokens = r.numbers<std::uint32_t>("/tokens", H5T_NATIVE_UINT32);
  for (std::uint32_t t : c.tokens) {
    if (static_cast<std::int64_t>(t) >= c.vocab_size) r.fail("/tokens", "holds an id outside the vocabulary");
  }
  const auto doc_off = r.numbers<std::uint64_t>("/documents/token_offsets", H5T_NATIVE_UINT64);
  if (doc_off.empty()) r.fail("/documents/token_offsets", "is empty");
  const hsize_t nd = doc_off.size() - 1;
  const auto scene_off = r.numbers<std::uint64_t>("/documents/scene_offsets", H5T_NATIVE_UINT64, nd + 1);
  const auto split = r.numbers<std::uint8_t>("/documents/split", H5T_NATIVE_UINT8, nd);
  const auto titles = r.strings("/documents/title", nd);
  const auto sources = r.strings("/documents/source", nd);
  const auto genres = r.strings("/documents/genres", nd);
  if (doc_off.front() != 0 || doc_off.back() != c.tokens.size()) {
    r.fail("/documents/token_offsets", "does not span /tokens");
  }
  for (hsize_t d = 0; d < nd; ++d) {
    if (doc_off[d] > doc_off[d + 1]) r.fail("/documents/token_offsets", "is not sorted");
    if (split[d] > 1) r.fail("/documents/split", "holds a value other than 0 or 1");
    CorpusDocument doc;
    doc.token_begin = doc_off[d];
    doc.token_end = doc_off[d + 1];
    doc.split = static_cast<Split>(split[d]);
    doc.title = titles[d];
    doc.source = sources[d];
    doc.genres = split_genres(genres[d]);
    c.documents.push_back(std::move(doc));
  }
  const hsize_t ns = r.length("/scenes/token_begin");
  const auto sb = r.numbers<std::uint64_t>("/scenes/token_begin", H5T_NATIVE_UINT64, ns);
  const auto se = r.numbers<std::uint64_t>("/scenes/token_end", H5T_NATIVE_UINT64, ns);
  const auto act = r.numbers<std::int32_t>("/scenes/act", H5T_NATIVE_INT32, ns);
  const auto beat = r.strings("/scenes/beat", ns);
  const auto emotion = r.strings("/scenes/emotion", ns);
  std::vector<std::string> valence(ns, "none");
  std::vector<std::uint8_t> derived(ns, 0);
  if (version >= 2) {
    valence = r.strings("/scenes/valence", ns);
    derived = r.numbers<std::uint8_t>("/scenes/emotion_derived", H5T_NATIVE_UINT8, ns);
  }
  if (scene_off.front() != 0 || scene_off.back() != ns) r.fail("/documents/scene_offsets", "does not span /scenes");
  for (hsize_t d = 0; d < nd; ++d) {
    if (scene_off[d] > scene_off[d + 1]) r.fail("/documents/scene_offsets", "is not sorted");
    for (std::uint64_t s = scene_off[d]; s < scene_off[d + 1]; ++s) {
      if (sb[s] > se[s] || sb[s] < doc_off[d] || se[s] > doc_off[d + 1]) {
        r.fail("/scenes/token_begin", "scene " + std::to_string(s) + " lies outside its document");
      }
      CorpusScene sc;
      sc.document = static_cast<std::uint32_t>(d);
      sc.token_begin = sb[s];
      sc.token_end = se[s];
      sc.act = act[s];
      sc.beat = beat[s];
      sc.emotion = emotion[s];
      sc.valence = valence[s];
      if (derived[s] > 1) r.fail("/scenes/emotion_derived", "holds a value other than 0 or 1");
      sc.emotion_derived = derived[s] == 1;
      c.scenes.push_back(std::move(sc));
    }
  }
  const hsize_t nc = r.length("/control_tokens/name");
  const auto names = r.strings("/control_tokens/name", nc);
  const auto ids = r.numbers<std::int32_t>("/control_tokens/id", H5T_NATIVE_INT32, nc);
  for (hsize_t i = 0; i < nc; ++i) c.control_tokens.emplace_back(names[i], ids[i]);
  const auto model = r.numbers<std::uint8_t>("/tokenizer/model", H5T_NATIVE_UINT8);
  c.tokenizer_model.assign(model.begin(), model.end());
  if (sha256_hex(c.tokenizer_model) != c.tokenizer_sha256) {
    r.fail("/tokenizer/model", "does not match attribute tokenizer_sha256");
  }
  return c;
}

}  // namespace plotforge
