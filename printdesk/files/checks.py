"""Content checks: is an uploaded print file what its extension says it is?

`check_content` runs on every upload before it is stored (see `storage.store_upload`). Each
check reads only what it needs, through seek and read on the upload, never the whole file:

- STL: the 84-byte header and the file size settle a binary STL (O(1) reads, whatever the
  size); an ASCII STL is read up to its first facet and vertex, plus its last kilobyte.
- 3MF: the zip's central directory is sized before the zip is opened, its declared sizes are
  checked against the zip-bomb limits before any part is unpacked, then the model part is
  unpacked and parsed as a stream (constant memory) to its end.
- OBJ: text read in chunks until a vertex line and a face line have been seen.
- STEP: the first and last few kilobytes.

Deeper questions (is the mesh closed, does it fit a printer, what does it weigh) belong to mesh
analysis, not here: these checks only refuse files that cannot be a print file at all.
"""

import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any
from xml.parsers import expat

from django.conf import settings
from django.core.files.base import File

from printdesk.jobs.errors import InvalidInput

CHUNK = 1024 * 1024
# A zip's central directory costs memory when opened (one entry per part); a 3MF has a handful
# of parts, so anything beyond this is not a print file.
MAX_3MF_PARTS = 10_000
# The relationship type naming a 3MF package's model part (3MF core specification, 2.1).
MODEL_RELATIONSHIP = "http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"
RELS_PART = "_rels/.rels"
# Relationships are a few hundred bytes; refusing a huge one keeps its parse cheap.
MAX_RELS_BYTES = 1024 * 1024

# Control characters other than tab, newline, vertical tab, form feed and carriage return: text
# print files (ASCII STL, OBJ, STEP) never hold them, binary data almost always does.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")


class Refused(Exception):
    """The file's content is not what its extension says; the message is for the customer."""


def check_content(upload: File, ext: str, *, name: str, field: str) -> None:
    """Refuse (InvalidInput on `field`) an upload whose content does not match `ext`.

    `name` is the sanitised name to show. The upload is left positioned at its start.
    """
    check = _CHECKS.get(ext)
    if check is None:
        return
    size = upload.size or 0
    if size == 0:
        raise InvalidInput(f"{name} is empty.", field=field)
    try:
        check(upload, size, name)
    except Refused as refused:
        raise InvalidInput(str(refused), field=field) from None
    finally:
        upload.seek(0)


# --- helpers ------------------------------------------------------------------------------------


def _read_at(f: IO[bytes] | File, offset: int, length: int) -> bytes:
    f.seek(offset)
    return f.read(length) or b""


def _chunks(f: IO[bytes] | File, size: int = CHUNK) -> Iterator[bytes]:
    f.seek(0)
    while chunk := f.read(size):
        yield chunk


def _is_text(data: bytes) -> bool:
    return _CONTROL.search(data) is None


def _n(number: int) -> str:
    return f"{number:,}"


# --- STL ----------------------------------------------------------------------------------------


def check_stl(f: File, size: int, name: str) -> None:
    """A binary STL whose size matches its triangle count, or an ASCII STL with a facet.

    A binary STL's 80-byte header may itself start with "solid" (many exporters write that), so
    a size that matches the count decides for binary before the text is looked at.
    """
    head = _read_at(f, 0, 1024)
    count = struct.unpack_from("<I", head, 80)[0] if len(head) >= 84 else 0
    expected = 84 + 50 * count
    if len(head) >= 84 and size == expected:
        if count == 0:
            raise Refused(f"{name} has no triangles: there is nothing to print.")
        return
    text = head.lstrip().lower()
    if text.startswith(b"solid") and (_is_text(head) or b"facet" in text):
        _check_ascii_stl(f, size, name)
        return
    if _is_text(head):
        raise Refused(
            f"{name} is not an STL file: it is text, but an STL file in text form starts with "
            '"solid".'
        )
    if size < 84:
        raise Refused(
            f"{name} is not an STL file: it has {_n(size)} bytes, and even an empty binary STL "
            "has 84."
        )
    if expected > max(settings.MAX_FILE_BYTES, size):
        # No upload could have held that many triangles: this was never a binary STL.
        raise Refused(
            f"{name} is not an STL file: it is neither an STL in text form nor in binary."
        )
    promise = f"its header promises {_n(count)} triangles ({_n(expected)} bytes)"
    if size < expected:
        raise Refused(
            f"{name} is cut short: {promise} but the file has {_n(size)} bytes. "
            "Please upload it again."
        )
    raise Refused(
        f"{name} is not a valid STL file: {promise} but the file has {_n(size)} bytes, "
        f"{_n(size - expected)} more than that."
    )


def _check_ascii_stl(f: File, size: int, name: str) -> None:
    """At least one facet with a vertex (read until found), and "endsolid" near the end."""
    seen: set[bytes] = set()
    carry = b""
    for chunk in _chunks(f, 64 * 1024):
        if not _is_text(chunk):
            raise Refused(
                f"{name} is not a valid STL file: it starts as text but holds binary data."
            )
        window = (carry + chunk).lower()
        seen.update(word for word in (b"facet", b"vertex") if word in window)
        if len(seen) == 2:
            break
        carry = window[-16:]  # a word cut between two chunks
    else:
        raise Refused(f"{name} has no triangles: there is nothing to print.")
    if b"endsolid" not in _read_at(f, max(0, size - 1024), 1024).lower():
        raise Refused(
            f'{name} is cut short: an STL file in text form ends with "endsolid", and this one '
            "does not. Please upload it again."
        )


# --- OBJ ----------------------------------------------------------------------------------------

_OBJ_VERTEX = re.compile(rb"^[ \t]*v[ \t]", re.MULTILINE)
_OBJ_FACE = re.compile(rb"^[ \t]*f[ \t]", re.MULTILINE)


def check_obj(f: File, size: int, name: str) -> None:
    """Text with at least one vertex ("v x y z") and one face ("f a b c") line.

    Bytes are searched, not decoded, so any ASCII-compatible encoding (UTF-8, Latin-1) passes.
    """
    vertex = face = False
    carry = b""
    for chunk in _chunks(f):
        if not _is_text(chunk):
            raise Refused(f"{name} is not an OBJ file: OBJ files are text, and this one is not.")
        lines, _, rest = (carry + chunk).rpartition(b"\n")
        lines += b"\n"
        vertex = vertex or _OBJ_VERTEX.search(lines) is not None
        face = face or _OBJ_FACE.search(lines) is not None
        if vertex and face:
            return
        carry = rest
        if len(carry) > CHUNK:  # no line ends in sight: keep a line start, not the whole line
            carry = carry[:16]
    vertex = vertex or _OBJ_VERTEX.search(carry) is not None
    face = face or _OBJ_FACE.search(carry) is not None
    if not vertex:
        raise Refused(f'{name} is not an OBJ model: it has no vertices ("v" lines).')
    if not face:
        raise Refused(f'{name} has no faces ("f" lines): points and lines alone cannot be printed.')


# --- STEP ---------------------------------------------------------------------------------------

_STEP_HEADER = re.compile(rb"\bHEADER\s*;")


def check_step(f: File, size: int, name: str) -> None:
    """ISO 10303-21: the "ISO-10303-21;" line, a HEADER section, and the closing line."""
    head = _read_at(f, 0, 64 * 1024)
    if not head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"ISO-10303-21;"):
        raise Refused(f'{name} is not a STEP file: it does not start with "ISO-10303-21;".')
    if not _STEP_HEADER.search(head):
        raise Refused(f"{name} is not a valid STEP file: it has no HEADER section.")
    if b"END-ISO-10303-21" not in _read_at(f, max(0, size - 4096), 4096):
        raise Refused(
            f'{name} is cut short: a STEP file ends with "END-ISO-10303-21;", and this one does '
            "not. Please upload it again."
        )


# --- 3MF ----------------------------------------------------------------------------------------


def check_3mf(f: File, size: int, name: str) -> None:
    """A zip, small enough unpacked, whose model part holds an object with a mesh.

    Steps: the zip's end record (how many parts), the parts' declared sizes against the
    zip-bomb limits, the package relationships to the model part, then the model part parsed
    as a stream to its end: stopping at the first mesh would accept a part whose XML breaks
    later (the 3MF conformance case of two models in one part).
    """
    try:
        if not zipfile.is_zipfile(f):
            raise Refused(
                f"{name} is not a 3MF file: a 3MF file is a zip archive, and this is not."
            )
        if _zip_entries(f, size) > MAX_3MF_PARTS:
            raise Refused(
                f"{name} is not a 3MF file: it holds more than {_n(MAX_3MF_PARTS)} parts."
            )
        with zipfile.ZipFile(f) as package:
            _check_zip_sizes(package, name)
            model = _model_part(package, name)
            _check_model(package, model, name)
    # What zipfile and zlib raise on a damaged archive (found by fuzzing the samples):
    # bad records, bad CRCs, offsets out of range, undecodable names, unknown methods.
    except (
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        EOFError,
        OSError,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ):
        raise Refused(
            f"{name} is damaged: it could not be unpacked. Please export it again."
        ) from None


def _zip_entries(f: File, size: int) -> int:
    """The number of parts a zip's end record announces, read before zipfile loads them all."""
    tail = _read_at(f, max(0, size - 22 - 0xFFFF), 22 + 0xFFFF)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return 0  # zipfile will refuse it
    entries = struct.unpack_from("<H", tail, at + 10)[0]
    locator = tail[at - 20 : at] if at >= 20 else b""
    if entries == 0xFFFF and locator.startswith(b"PK\x06\x07"):  # zip64: the count is elsewhere
        record = _read_at(f, struct.unpack_from("<Q", locator, 8)[0], 56)
        if record.startswith(b"PK\x06\x06") and len(record) == 56:
            entries = struct.unpack_from("<Q", record, 32)[0]
    return int(entries)


def _check_zip_sizes(package: zipfile.ZipFile, name: str) -> None:
    """Refuse a zip bomb from the sizes the zip declares, before unpacking anything.

    zipfile never unpacks a part beyond its declared size, so these numbers bound the work.
    """
    parts = package.infolist()
    unpacked = sum(part.file_size for part in parts)
    packed = sum(part.compress_size for part in parts)
    if unpacked > settings.MAX_3MF_UNCOMPRESSED_BYTES:
        raise Refused(
            f"{name} is too large once unpacked: {_n(unpacked)} bytes, over the limit of "
            f"{_n(settings.MAX_3MF_UNCOMPRESSED_BYTES)}."
        )
    if unpacked > settings.MAX_ZIP_RATIO * max(packed, 1):
        raise Refused(
            f"{name} is refused: it would unpack to {_n(unpacked)} bytes from {_n(packed)}, "
            f"more than {settings.MAX_ZIP_RATIO} times its packed size, which no print file needs."
        )


def _find(package: zipfile.ZipFile, target: str) -> zipfile.ZipInfo | None:
    """A part by name; part names in a package are compared without regard to case."""
    wanted = target.lstrip("/").lower()
    return next((p for p in package.infolist() if p.filename.lower() == wanted), None)


def _model_part(package: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The part the package relationships (_rels/.rels) name as the 3D model."""
    missing = Refused(f"{name} is not a valid 3MF file: it holds no 3D model part.")
    rels = _find(package, RELS_PART)
    if rels is None or rels.file_size > MAX_RELS_BYTES:
        raise missing
    targets: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.rpartition(" ")[2] == "Relationship" and attrs.get("Type") == MODEL_RELATIONSHIP:
            targets.append(attrs.get("Target", ""))

    parser = _parser(name)
    parser.StartElementHandler = start
    _feed(parser, package, rels, name)
    parts = [part for target in targets if (part := _find(package, target)) is not None]
    if not parts:
        raise missing
    return parts[0]


def _check_model(package: zipfile.ZipFile, part: zipfile.ZipInfo, name: str) -> None:
    """The model part is well-formed XML, rooted in <model>, with an <object> holding a
    <mesh> or <components>. Once one is seen, the rest is parsed without Python callbacks."""
    stack: list[str] = []
    found = False

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal found
        local = tag.rpartition(" ")[2]
        if not stack and local != "model":
            raise Refused(f"{name} is not a valid 3MF file: its model part is not a 3D model.")
        if local in ("mesh", "components") and stack and stack[-1] == "object":
            found = True
            parser.StartElementHandler = parser.EndElementHandler = None
            return
        stack.append(local)

    def end(tag: str) -> None:
        stack.pop()

    parser = _parser(name)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    _feed(parser, package, part, name)
    if not found:
        raise Refused(f"{name} holds no mesh: its 3D model has no object to print.")


def _parser(name: str) -> Any:
    """An expat parser for one part of a package, refusing any document type declaration.

    expat directly rather than ElementTree: its element handlers can be dropped mid-parse, so
    a large mesh is checked at C speed. It resolves no external entities, and a 3MF has no
    use for a document type declaration, so any is refused (no entity expansion at all).
    """
    parser = expat.ParserCreate(namespace_separator=" ")

    def no_doctype(*args: object) -> None:
        raise Refused(f"{name} is not a valid 3MF file: it declares a document type.")

    parser.StartDoctypeDeclHandler = no_doctype
    return parser


def _feed(parser: Any, package: zipfile.ZipFile, part: zipfile.ZipInfo, name: str) -> None:
    """Stream one part through the parser to its end, a chunk at a time."""
    try:
        with package.open(part) as stream:
            while chunk := stream.read(CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as error:
        reason = expat.ErrorString(error.code)
        raise Refused(
            f"{name} is damaged: its part {part.filename} is not valid XML ({reason}, line "
            f"{error.lineno}). Please export it again."
        ) from None


_CHECKS: dict[str, Callable[[File, int, str], None]] = {
    "stl": check_stl,
    "3mf": check_3mf,
    "obj": check_obj,
    "step": check_step,
    "stp": check_step,
}
