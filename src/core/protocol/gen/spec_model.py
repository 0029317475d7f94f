"""The spec model: parses kfk's .kp message definitions into messages, structs and fields.

Format (indentation, two spaces a level, gives nesting):

    # comment
    request FetchRequest api=1 versions=4-17 flexible=12+ [latest-unstable] [listeners=a,b]
      FieldName type versions [nullable=R] [tag=N tagged=R] [flexible=none] [default=V]
                              [ignorable] [entity=E]
        ChildField ...              (fields of an inline struct type or array of structs)
      struct CommonName versions=R  (a struct shared by several fields of this message)
        ...

`kind` is request, response, header or data. Versions are `N`, `N-M`, `N+` or `none`.
Types: bool int8 int16 uint16 int32 uint32 int64 float64 string bytes uuid records, a struct
name, or `[]T` for an array of either.
"""

import shlex

PRIMITIVES = {
    "bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64",
    "string", "bytes", "uuid", "records",
}


class SpecError(Exception):
    pass


class Versions:
    """An inclusive version range; hi is None for open-ended (N+); empty when lo is None."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(text):
        if text == "none":
            return Versions(None, None)
        if text.endswith("+"):
            return Versions(int(text[:-1]), None)
        if "-" in text:
            lo, hi = text.split("-")
            return Versions(int(lo), int(hi))
        return Versions(int(text), int(text))

    def empty(self):
        return self.lo is None

    def contains(self, v):
        return not self.empty() and v >= self.lo and (self.hi is None or v <= self.hi)

    def intersect(self, other):
        if self.empty() or other.empty():
            return Versions(None, None)
        lo = max(self.lo, other.lo)
        his = [h for h in (self.hi, other.hi) if h is not None]
        hi = min(his) if his else None
        if hi is not None and lo > hi:
            return Versions(None, None)
        return Versions(lo, hi)

    def __repr__(self):
        if self.empty():
            return "none"
        return f"{self.lo}+" if self.hi is None else f"{self.lo}-{self.hi}"


class Field:
    def __init__(self, name, type_text, versions, attrs, line):
        self.name = name
        self.type_text = type_text
        self.is_array = type_text.startswith("[]")
        self.elem = type_text[2:] if self.is_array else type_text
        self.is_struct = self.elem not in PRIMITIVES
        self.versions = Versions.parse(versions)
        self.nullable = Versions.parse(attrs.pop("nullable", "none"))
        self.tag = int(attrs.pop("tag")) if "tag" in attrs else None
        self.tagged = Versions.parse(attrs.pop("tagged", "none"))
        self.flexible_none = attrs.pop("flexible", None) == "none"
        self.default = attrs.pop("default", None)
        self.ignorable = attrs.pop("ignorable", None) is not None
        self.entity = attrs.pop("entity", None)
        if attrs:
            raise SpecError(f"line {line}: unknown attributes {sorted(attrs)}")
        if (self.tag is None) != self.tagged.empty():
            raise SpecError(f"line {line}: tag and tagged go together")
        if self.elem == "records" and self.is_array:
            raise SpecError(f"line {line}: arrays of records are not a type")
        self.children = []  # fields of an inline struct type
        self.struct = None  # resolved StructDef for struct-typed fields

    def nullable_ever(self):
        return not self.nullable.empty()


class StructDef:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields


class Message:
    def __init__(self, kind, name, attrs, path):
        self.kind = kind
        self.name = name
        self.path = path
        self.api_key = int(attrs.pop("api")) if "api" in attrs else None
        self.versions = Versions.parse(attrs.pop("versions"))
        self.flexible = Versions.parse(attrs.pop("flexible", "none"))
        self.latest_unstable = attrs.pop("latest-unstable", None) is not None
        self.listeners = [x for x in attrs.pop("listeners", "").split(",") if x]
        if attrs:
            raise SpecError(f"{path}: {name}: unknown attributes {sorted(attrs)}")
        self.fields = []
        self.common = {}  # name -> StructDef
        self.structs = []  # every StructDef of this message, dependencies first

    @property
    def min_version(self):
        return self.versions.lo

    @property
    def max_version(self):
        return self.versions.hi if self.versions.hi is not None else self.versions.lo

    @property
    def latest_stable_version(self):
        return self.max_version - 1 if self.latest_unstable else self.max_version

    @property
    def first_flexible(self):
        return -1 if self.flexible.empty() else self.flexible.lo


def _attrs(tokens, line):
    out = {}
    for t in tokens:
        if "=" in t:
            k, v = t.split("=", 1)
            out[k] = v
        else:
            out[t] = ""
    return out


def parse_file(path):
    """Returns the messages defined in one .kp file."""
    messages = []
    stack = []  # (indent, field list owner)
    current = None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            indent = len(raw) - len(raw.lstrip(" "))
            if indent % 2:
                raise SpecError(f"{path}:{lineno}: indentation must be a multiple of two")
            depth = indent // 2
            tokens = shlex.split(raw.strip())
            if depth == 0:
                kind, name = tokens[0], tokens[1]
                if kind not in ("request", "response", "header", "data"):
                    raise SpecError(f"{path}:{lineno}: unknown kind {kind}")
                current = Message(kind, name, _attrs(tokens[2:], lineno), path)
                messages.append(current)
                stack = [current.fields]
                continue
            if current is None or depth > len(stack):
                raise SpecError(f"{path}:{lineno}: field outside a message or too deeply indented")
            del stack[depth:]
            if tokens[0] == "struct" and depth == 1:
                attrs = _attrs(tokens[2:], lineno)
                sd = StructDef(tokens[1], [])
                current.common[sd.name] = sd
                stack.append(sd.fields)
                continue
            if len(tokens) < 3:
                raise SpecError(f"{path}:{lineno}: a field needs a name, a type and versions")
            field = Field(tokens[0], tokens[1], tokens[2], _attrs(tokens[3:], lineno), f"{path}:{lineno}")
            stack[-1].append(field)
            stack.append(field.children)
    for m in messages:
        _resolve(m)
    return messages


def _resolve(msg):
    """Links struct-typed fields to their StructDef and orders structs dependencies first."""
    ordered, seen = [], set()

    def visit_fields(fields):
        for f in fields:
            if not f.is_struct:
                if f.children:
                    raise SpecError(f"{msg.path}: {msg.name}.{f.name}: a primitive has no fields")
                continue
            if f.children:
                sd = StructDef(f.elem, f.children)
            elif f.elem in msg.common:
                sd = msg.common[f.elem]
            else:
                raise SpecError(f"{msg.path}: {msg.name}.{f.name}: unknown type {f.elem}")
            f.struct = sd
            if id(sd) not in seen:
                seen.add(id(sd))
                visit_fields(sd.fields)
                ordered.append(sd)

    for sd in msg.common.values():
        if id(sd) not in seen:
            seen.add(id(sd))
            visit_fields(sd.fields)
            ordered.append(sd)
    visit_fields(msg.fields)
    names = [sd.name for sd in ordered]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SpecError(f"{msg.path}: {msg.name}: struct names defined twice: {sorted(dupes)}")
    msg.structs = ordered
