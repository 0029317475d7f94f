"""Writes C++ for the spec model: a header and a source file per spec file.

Each message becomes a struct with its nested structs, default member values, and
encode / encoded_size / decode for every version. Version checks are emitted only where a
field's range does not cover the message's whole range.
"""

import re

from spec_model import Versions

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char",
    "class", "const", "constexpr", "continue", "default", "delete", "do", "double", "else",
    "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if",
    "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "operator", "or",
    "private", "protected", "public", "register", "return", "short", "signed", "sizeof",
    "static", "struct", "switch", "template", "this", "throw", "true", "try", "typedef",
    "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "while", "xor",
}

SCALARS = {
    "bool": "bool", "int8": "int8_t", "int16": "int16_t", "uint16": "uint16_t",
    "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t", "float64": "double",
    "uuid": "Uuid",
}


def snake(name):
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    s = s.lower()
    return s + "_" if s in CPP_KEYWORDS else s


def member(f):
    return snake(f.name)


def version_cond(rng, msg, var="version"):
    """A C++ condition true when `var` lies in rng, given var is within the message's versions."""
    r = rng.intersect(msg.versions)
    if r.empty():
        return "false"
    parts = []
    if r.lo > msg.min_version:
        parts.append(f"{var} >= {r.lo}")
    if r.hi is not None and r.hi < msg.max_version:
        parts.append(f"{var} <= {r.hi}")
    return " && ".join(parts) if parts else "true"


def conj(*conds):
    conds = [c for c in conds if c != "true"]
    if "false" in conds:
        return "false"
    return " && ".join(f"({c})" if "&&" in c or "||" in c else c for c in conds) or "true"


class MessageWriter:
    def __init__(self, msg):
        self.msg = msg
        self.flexible_cond = version_cond(msg.flexible, msg)

    # --- types and defaults ---------------------------------------------------------------

    def elem_type(self, f, qualified=False):
        if f.is_struct:
            return f"{self.msg.name}::{f.struct.name}" if qualified else f.struct.name
        if f.elem == "string":
            return "std::string"
        if f.elem == "bytes":
            return "Bytes"
        if f.elem == "records":
            return "Records"
        return SCALARS[f.elem]

    def cpp_type(self, f, qualified=False):
        t = self.elem_type(f, qualified)
        if f.elem == "records":
            return t
        if f.is_array:
            t = f"std::vector<{t}>"
        if f.nullable_ever():
            t = f"std::optional<{t}>"
        return t

    def default_init(self, f):
        """The braced initializer contents of the member ('' for value-initialisation)."""
        d = f.default
        if f.elem == "records":
            return ""
        if f.is_array or f.is_struct or f.elem == "bytes":
            if d not in (None, "null", ""):
                raise ValueError(f"{self.msg.name}.{f.name}: unsupported default {d}")
            # Kafka's default for a nullable array, struct or bytes is empty, not null,
            # unless the definition says null.
            return "std::in_place" if f.nullable_ever() and d != "null" else ""
        if f.elem == "string":
            if d == "null":
                return ""
            if d in (None, ""):
                return "std::string()" if f.nullable_ever() else ""
            return '"' + d.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if f.elem == "bool":
            return "true" if d == "true" else ""
        if f.elem == "uuid" or d in (None, "0"):
            return ""
        if f.elem == "float64":
            return repr(float(d))
        value = int(d, 0)
        return f"static_cast<{SCALARS[f.elem]}>({value}LL)" if value < 0 else f"{value}"

    def is_default_expr(self, f, v):
        return f"{v} == {self.cpp_type(f, qualified=True)}{{{self.default_init(f)}}}"

    # --- header -----------------------------------------------------------------------------

    def struct_body(self, fields, indent, name):
        out = []
        for f in fields:
            out.append(f"{indent}{self.cpp_type(f)} {member(f)}{{{self.default_init(f)}}};")
        out.append(f"{indent}TaggedFields unknown_tags;")
        out.append("")
        out.append(f"{indent}bool operator==(const {name}&) const = default;")
        return out

    def header(self):
        m = self.msg
        out = []
        # Nested structs live in a namespace of their own and are aliased into the message:
        # defined inside the message, clang would judge them not default-constructible while
        # the message is still incomplete.
        ns = snake(m.name).rstrip("_") + "_types"
        if m.structs:
            out.append(f"namespace {ns} {{")
            out.append("")
            for sd in m.structs:
                out.append(f"struct {sd.name} {{")
                out += self.struct_body(sd.fields, "  ", sd.name)
                out.append("};")
                out.append("")
            out.append(f"}}  // namespace {ns}")
            out.append("")
        out.append(f"struct {m.name} {{")
        for sd in m.structs:
            out.append(f"  using {sd.name} = {ns}::{sd.name};")
        if m.api_key is not None:
            out.append(f"  static constexpr int16_t api_key = {m.api_key};")
        out.append(f"  static constexpr int16_t min_version = {m.min_version};")
        out.append(f"  static constexpr int16_t max_version = {m.max_version};")
        out.append(f"  static constexpr int16_t latest_stable_version = {m.latest_stable_version};")
        out.append(f"  static constexpr int16_t first_flexible_version = {m.first_flexible};")
        out.append(f'  static constexpr const char* message_name = "{m.name}";')
        out.append("")
        out += self.struct_body(m.fields, "  ", m.name)
        out.append("")
        out.append("  // Writes this message at `version`, which must lie in [min_version, max_version].")
        out.append("  void encode(Writer& w, int16_t version) const;")
        out.append("  size_t encoded_size(int16_t version) const;")
        out.append("  // Reads a message of `version`; returns r.ok(). Fields absent from it keep their")
        out.append("  // defaults. Never throws on bad input.")
        out.append("  bool decode(Reader& r, int16_t version);")
        out.append("};")
        return out

    # --- source: names ------------------------------------------------------------------------

    def fn(self, prefix, sd):
        return f"{prefix}_{self.msg.name}_{sd.name}" if sd else f"{prefix}_{self.msg.name}"

    def qualified(self, sd):
        return f"{self.msg.name}::{sd.name}" if sd else self.msg.name

    # --- source: encoding -------------------------------------------------------------------

    def encode_value(self, f, v, w, compact, nullable, elem=False):
        """Statements writing value expression v of field f (an element when elem)."""
        if f.is_array and not elem:
            nul = nullable
            lines = []
            if f.nullable_ever():
                lines.append(f"write_array_length({w}, {v} ? static_cast<int32_t>({v}->size()) : -1, {compact});")
                lines.append(f"if ({v}) {{")
                lines.append(f"  for (const auto& e : *{v}) {{")
            else:
                lines.append(f"write_array_length({w}, static_cast<int32_t>({v}.size()), {compact});")
                lines.append("{")
                lines.append(f"  for (const auto& e : {v}) {{")
            del nul
            lines += ["    " + s for s in self.encode_value(f, "e", w, compact, "false", elem=True)]
            lines.append("  }")
            lines.append("}")
            return lines
        if f.is_struct:
            call = self.fn("encode", f.struct)
            if f.nullable_ever() and not elem:
                return [f"encode_nullable_struct({w}, {v}, {nullable}, [&](auto& o, const auto& s) {{ {call}(o, s, version); }});"]
            return [f"{call}({w}, {v}, version);"]
        if f.elem == "string":
            return [f"write_string_field({w}, {v}, {compact}, {nullable});"]
        if f.elem in ("bytes", "records"):
            return [f"write_bytes_field({w}, {v}, {compact}, {nullable});"]
        return [f"{w}.write_{f.elem if f.elem != 'uuid' else 'uuid'}({v});"]

    def compact_cond(self, f):
        return "false" if f.flexible_none else "flexible"

    def encode_struct(self, sd, fields):
        name = self.qualified(sd)
        out = [f"template <class W>", f"void {self.fn('encode', sd)}(W& w, const {name}& v, [[maybe_unused]] int16_t version) {{"]
        out.append(f"  [[maybe_unused]] const bool flexible = {self.flexible_cond};")
        tagged = []
        for f in fields:
            if f.tag is not None:
                tagged.append(f)
                continue
            cond = version_cond(f.versions, self.msg)
            if cond == "false":
                continue
            body = self.encode_value(f, f"v.{member(f)}", "w", self.compact_cond(f),
                                     version_cond(f.nullable, self.msg))
            out += self.guard(cond, body, "  ")
        out.append("  if (flexible) {")
        if tagged:
            out.append("    uint32_t count = static_cast<uint32_t>(v.unknown_tags.size());")
            for f in tagged:
                cond = conj(version_cond(f.versions.intersect(f.tagged), self.msg),
                            f"!({self.is_default_expr(f, 'v.' + member(f))})")
                out.append(f"    const bool has_{member(f)} = {cond};")
                out.append(f"    count += has_{member(f)} ? 1 : 0;")
            out.append("    w.write_uvarint(count);")
            out.append("    size_t next_unknown = 0;")
            for f in sorted(tagged, key=lambda x: x.tag):
                out.append(f"    if (has_{member(f)}) {{")
                out.append(f"      write_unknown_tags_before(w, v.unknown_tags, next_unknown, {f.tag});")
                out.append(f"      write_tagged_field(w, {f.tag}, [&](auto& o) {{")
                body = self.encode_value(f, f"v.{member(f)}", "o", "true", version_cond(f.nullable, self.msg))
                out += ["        " + s for s in body]
                out.append("      });")
                out.append("    }")
            out.append("    write_unknown_tags_before(w, v.unknown_tags, next_unknown, UINT32_MAX);")
        else:
            out.append("    write_unknown_tags(w, v.unknown_tags);")
        out.append("  }")
        out.append("}")
        return out

    @staticmethod
    def guard(cond, body, indent):
        if cond == "true":
            return [indent + s for s in body]
        return [f"{indent}if ({cond}) {{"] + [indent + "  " + s for s in body] + [f"{indent}}}"]

    # --- source: decoding -------------------------------------------------------------------

    def decode_value(self, f, v, r, compact, nullable, label, elem=False):
        if f.is_array and not elem:
            lines = [f"{{", f"  const int32_t n = read_array_length({r}, {compact}, \"{label}\");"]
            if f.nullable_ever():
                lines += [f"  if (n < 0) {{",
                          f"    if ({nullable}) {v}.reset(); else {r}.fail(DecodeErrorKind::negative_length, \"{label}\");",
                          f"  }} else {{",
                          f"    auto& a = {v}.emplace();"]
            else:
                lines += [f"  if (n < 0) {{",
                          f"    {r}.fail(DecodeErrorKind::negative_length, \"{label}\");",
                          f"  }} else {{",
                          f"    auto& a = {v};"]
            lines += [f"    a.clear();",
                      f"    a.reserve(static_cast<size_t>(std::min(n, 1024)));",
                      f"    for (int32_t i = 0; i < n && {r}.ok(); ++i) {{",
                      f"      auto& e = a.emplace_back();"]
            lines += ["      " + s for s in self.decode_value(f, "e", r, compact, "false", label, elem=True)]
            lines += ["    }", "  }", "}"]
            return lines
        if f.is_struct:
            call = self.fn("decode", f.struct)
            if f.nullable_ever() and not elem:
                return [f"decode_nullable_struct({r}, {v}, {nullable}, \"{label}\", [&](Reader& i, auto& s) {{ {call}(i, s, version); }});"]
            return [f"{call}({r}, {v}, version);"]
        if f.elem == "string":
            return [f"read_string_field({r}, {v}, {compact}, {nullable}, \"{label}\");"]
        if f.elem in ("bytes", "records"):
            return [f"read_bytes_field({r}, {v}, {compact}, {nullable}, \"{label}\");"]
        return [f"{v} = {r}.read_{f.elem}(\"{label}\");"]

    def decode_struct(self, sd, fields):
        name = self.qualified(sd)
        label_prefix = (sd.name + ".") if sd else ""
        out = [f"void {self.fn('decode', sd)}(Reader& r, {name}& v, [[maybe_unused]] int16_t version) {{"]
        out.append(f"  [[maybe_unused]] const bool flexible = {self.flexible_cond};")
        tagged = []
        for f in fields:
            if f.tag is not None:
                tagged.append(f)
                continue
            cond = version_cond(f.versions, self.msg)
            if cond == "false":
                continue
            body = self.decode_value(f, f"v.{member(f)}", "r", self.compact_cond(f),
                                     version_cond(f.nullable, self.msg), label_prefix + f.name)
            out += self.guard(cond, body, "  ")
        out.append("  if (flexible) {")
        if tagged:
            out.append("    r.read_tagged_fields(v.unknown_tags, [&](uint32_t tag, Reader& t) -> bool {")
            out.append("      switch (tag) {")
            for f in sorted(tagged, key=lambda x: x.tag):
                cond = version_cond(f.versions.intersect(f.tagged), self.msg)
                out.append(f"        case {f.tag}:")
                if cond != "true":
                    out.append(f"          if (!({cond})) return false;")
                body = self.decode_value(f, f"v.{member(f)}", "t", "true",
                                         version_cond(f.nullable, self.msg), label_prefix + f.name)
                out += ["          " + s for s in body]
                out.append("          return true;")
            out.append("        default:")
            out.append("          return false;")
            out.append("      }")
            out.append("    });")
        else:
            out.append("    r.read_tagged_fields(v.unknown_tags, [](uint32_t, Reader&) { return false; });")
        out.append("  }")
        out.append("}")
        return out

    def source(self):
        m = self.msg
        out = ["namespace {", ""]
        for sd in m.structs:
            out.append(f"template <class W>")
            out.append(f"void {self.fn('encode', sd)}(W& w, const {self.qualified(sd)}& v, int16_t version);")
            out.append(f"void {self.fn('decode', sd)}(Reader& r, {self.qualified(sd)}& v, int16_t version);")
        out.append("")
        for sd in m.structs:
            out += self.encode_struct(sd, sd.fields) + [""]
            out += self.decode_struct(sd, sd.fields) + [""]
        out += self.encode_struct(None, m.fields) + [""]
        out += self.decode_struct(None, m.fields) + [""]
        out.append("}  // namespace")
        out.append("")
        out.append(f"void {m.name}::encode(Writer& w, int16_t version) const {{ {self.fn('encode', None)}(w, *this, version); }}")
        out.append("")
        out.append(f"size_t {m.name}::encoded_size(int16_t version) const {{")
        out.append("  SizeCounter c;")
        out.append(f"  {self.fn('encode', None)}(c, *this, version);")
        out.append("  return c.size();")
        out.append("}")
        out.append("")
        out.append(f"bool {m.name}::decode(Reader& r, int16_t version) {{")
        out.append(f"  *this = {m.name}{{}};")
        out.append("  if (version < min_version || version > max_version) {")
        out.append(f"    r.fail(DecodeErrorKind::unsupported_version, \"{m.name} version\");")
        out.append("    return false;")
        out.append("  }")
        out.append(f"  {self.fn('decode', None)}(r, *this, version);")
        out.append("  return r.ok();")
        out.append("}")
        return out

    # --- test samples -----------------------------------------------------------------------

    def sample_value(self, f, v, present_nullable, elem=False):
        """Statements filling v (of field f) with pseudo-random data valid at `version`."""
        if f.is_array and not elem:
            lines = []
            target = v
            if f.nullable_ever():
                lines.append(f"if (({present_nullable}) && g.chance(4)) {{ {v}.reset(); }} else {{")
                lines.append(f"  auto& a = {v}.emplace();")
                target = "a"
            else:
                lines.append("{")
                lines.append(f"  auto& a = {v};")
                target = "a"
            lines.append(f"  {target}.clear();")
            lines.append(f"  for (int i = 0, n = g.count(); i < n; ++i) {{")
            lines.append(f"    auto& e = {target}.emplace_back();")
            lines += ["    " + s for s in self.sample_value(f, "e", "false", elem=True)]
            lines.append("  }")
            lines.append("}")
            return lines
        if f.is_struct:
            call = self.fn("fill", f.struct)
            if f.nullable_ever() and not elem:
                return [f"if (({present_nullable}) && g.chance(4)) {{ {v}.reset(); }} else {{ {call}(g, {v}.emplace(), version); }}"]
            return [f"{call}(g, {v}, version);"]
        if f.elem == "string":
            if f.nullable_ever() and not elem:
                return [f"if (({present_nullable}) && g.chance(4)) {{ {v}.reset(); }} else {{ {v} = g.text(); }}"]
            return [f"{v} = g.text();"]
        if f.elem in ("bytes", "records"):
            if (f.nullable_ever() or f.elem == "records") and not elem:
                return [f"if (({present_nullable}) && g.chance(4)) {{ {v}.reset(); }} else {{ {v} = g.blob(); }}"]
            return [f"{v} = g.blob();"]
        return [f"{v} = g.value<{SCALARS[f.elem]}>();"]

    def fill_struct(self, sd, fields):
        name = self.qualified(sd)
        out = [f"void {self.fn('fill', sd)}(SampleGen& g, {name}& v, [[maybe_unused]] int16_t version) {{"]
        out.append(f"  [[maybe_unused]] const bool flexible = {self.flexible_cond};")
        for f in fields:
            rng = f.versions if f.tag is None else f.versions.intersect(f.tagged)
            cond = version_cond(rng, self.msg)
            if f.tag is not None:
                cond = conj(cond, "flexible")
            if cond == "false":
                continue
            body = self.sample_value(f, f"v.{member(f)}", version_cond(f.nullable, self.msg))
            if f.tag is not None:
                body = ["if (g.chance(2)) {"] + ["  " + s for s in body] + ["}"]
            out += self.guard(cond, body, "  ")
        out.append("  if (flexible) g.unknown_tags(v.unknown_tags);")
        out.append("}")
        return out

    def samples(self):
        m = self.msg
        out = []
        for sd in m.structs:
            out.append(f"void {self.fn('fill', sd)}(SampleGen& g, {self.qualified(sd)}& v, int16_t version);")
        for sd in m.structs:
            out += self.fill_struct(sd, sd.fields)
        out += self.fill_struct(None, m.fields)
        return out
