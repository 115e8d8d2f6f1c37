"""Which uploads we accept, judged by their content rather than their name."""

import io
import math
import zipfile
import zlib

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# The leading bytes of each accepted format.
_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "docx": (b"PK\x03\x04",),
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "eml": "message/rfc822",
}
# A saved email (.eml) starts with header lines; only staff recording an email may upload one.
_EMAIL_HEADERS = (
    b"received:",
    b"return-path:",
    b"from:",
    b"to:",
    b"date:",
    b"subject:",
    b"message-id:",
    b"mime-version:",
    b"delivered-to:",
    b"x-",
)


def sniff_attachment_type(head: bytes, read_all) -> str | None:
    """The accepted type the bytes really are, or None.

    `read_all` returns the whole file; it is only called for containers. An OLE file (the
    container of .doc, but also of .xls, .ppt and .msi) counts as doc only with a Word stream
    and no macros; a zip counts as docx only when it holds a Word document and nothing else
    (no macros, no embedded binaries, none of a .jar's or another format's parts).
    """
    for kind, signatures in _SIGNATURES.items():
        if any(head.startswith(signature) for signature in signatures):
            if kind == "docx":
                return "docx" if _is_plain_word_document(read_all()) else None
            if kind == "doc":
                return "doc" if _is_plain_word_97_document(read_all()) else None
            return kind
    return None


# Stream names in an OLE directory are UTF-16; a Word 97 file has a "WordDocument" stream,
# and one with macros a "_VBA_PROJECT" stream (in its "Macros" storage).
_OLE_WORD_STREAM = "WordDocument".encode("utf-16-le")
_OLE_MACRO_STREAM = "_VBA_PROJECT".encode("utf-16-le")
# The parts a Word document (.docx) is made of; anything else in the zip is refused.
_DOCX_PARTS = ("[Content_Types].xml", "_rels/", "docProps/", "word/", "customXml/")


def _is_plain_word_97_document(data: bytes) -> bool:
    return _OLE_WORD_STREAM in data and _OLE_MACRO_STREAM not in data


# A zip is read without trusting what it says of itself: a few kilobytes of a "[Content_Types]
# .xml" can unpack to gigabytes (a zip bomb, posted anonymously, would take the web process's
# memory), and an entry can be encrypted, compressed in a way zipfile cannot read, or corrupt.
# A Word document's content types are a few kilobytes, and no other part is ever unpacked
# here (the file is stored and downloaded as it came).
_DOCX_CONTENT_TYPES_MAX_BYTES = 1024 * 1024
_DOCX_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_UNREADABLE_ZIP = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    ValueError,
    KeyError,
    RuntimeError,  # an encrypted entry
    NotImplementedError,  # a compression zipfile does not know
    zlib.error,  # a corrupt stream
    EOFError,
    OSError,
)


def _is_plain_word_document(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if any(
                entry.flag_bits & 0x1 or entry.compress_type not in _DOCX_COMPRESSIONS
                for entry in entries
            ):
                return False
            names = [entry.filename for entry in entries]
            if "[Content_Types].xml" not in names:
                return False
            # Read no more than a content types part may hold, whatever its header claims.
            with archive.open("[Content_Types].xml") as part:
                content_types = part.read(_DOCX_CONTENT_TYPES_MAX_BYTES + 1)
    except _UNREADABLE_ZIP:
        return False
    if len(content_types) > _DOCX_CONTENT_TYPES_MAX_BYTES:
        return False
    if "word/document.xml" not in names or not content_types:
        return False
    if b"macroEnabled" in content_types or b"vbaProject" in content_types:
        return False
    return all(name.startswith(_DOCX_PARTS) and not _is_embedded(name) for name in names)


def _is_embedded(name: str) -> bool:
    """A part that is an object embedded in a Word document (an OLE object, or any file put in
    it: "word/embeddings/setup.exe", a workbook with macros), which can carry programs."""
    name = name.lower()
    return name.endswith(".bin") or name.startswith("word/embeddings/")


def _word_document_refusal(data: bytes) -> str | None:
    """Why a file that is a Word document is refused all the same, in words its sender can act
    on: its macros, or the objects embedded in it (an equation, a chart, another file), which
    can carry programs. None for anything else."""
    if _OLE_WORD_STREAM in data and _OLE_MACRO_STREAM in data:
        return MACROS_REFUSED
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except _UNREADABLE_ZIP:
        return None
    if "word/document.xml" not in names:
        return None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return MACROS_REFUSED
    if any(_is_embedded(name) for name in names):
        return EMBEDDED_REFUSED
    return None


MACROS_REFUSED = gettext_lazy(
    "此 Word 文件含有宏，出于安全考虑不能接收：请另存为不含宏的 Word 文档（docx）或 PDF 后再上传。"
)
EMBEDDED_REFUSED = gettext_lazy(
    "此 Word 文件含有嵌入的对象（如公式、图表或其他文件），出于安全考虑不能接收："
    "请另存为 PDF 后再上传。"
)


def download_name(original_name: str, kind_extension: str) -> str:
    """The name a file is served under: the citizen's name, made safe, with the extension of
    what the file really is (a "setup.msi" that is a Word file leaves as "setup.doc")."""
    stem = original_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    safe = "".join(char if char.isalnum() or char in "-_（）() " else "_" for char in stem)
    return f"{safe.strip()[:80] or 'attachment'}.{kind_extension}"


def clean_attachment(upload, *, allow_email=False) -> str:
    """Validate an uploaded file; return its real type ("pdf", "docx", ...)."""
    if upload.size > MAX_ATTACHMENT_BYTES:
        # Rounded up: a file just over the limit read "10.0 MB", which is within it.
        size = math.ceil(upload.size / 1024 / 1024 * 10) / 10
        raise ValidationError(
            _("附件不能超过 10 MB（此文件 %(size).1f MB）。") % {"size": size}, code="too_large"
        )
    if upload.size == 0:
        raise ValidationError(_("附件是空文件。"), code="empty")
    upload.seek(0)
    head = upload.read(16)

    def read_all():
        upload.seek(0)
        return upload.read()

    kind = sniff_attachment_type(head, read_all)
    if kind is None and allow_email and head.lower().startswith(_EMAIL_HEADERS):
        kind = "eml"
    if kind is None and (refusal := _word_document_refusal(read_all())):
        upload.seek(0)
        raise ValidationError(refusal, code="file_type")
    upload.seek(0)
    if kind is None:
        raise ValidationError(
            _("只接受 PDF、Word（doc、docx）、JPG 和 PNG 文件；此文件的实际内容不是这些格式。"),
            code="file_type",
        )
    return kind
