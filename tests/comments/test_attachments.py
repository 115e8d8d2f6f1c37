"""Attachments are judged by what they are: Word files without macros or foreign parts, served
under the extension of their real type."""

import io
import zipfile

import pytest

from consult.comments.attachments import download_name, sniff_attachment_type

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


def ole(*streams: str) -> bytes:
    """An OLE container whose directory names these streams (UTF-16, as OLE stores them)."""
    return OLE + b"".join(name.encode("utf-16-le").ljust(64, b"\0") for name in streams)


def zipped(parts: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


WORD_TYPES = (
    '<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
MACRO_TYPES = (
    '<Types><Override PartName="/word/document.xml" '
    'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'
)


def sniff(data: bytes):
    return sniff_attachment_type(data[:16], lambda: data)


def test_a_word_97_file_is_a_doc():
    assert sniff(ole("Root Entry", "WordDocument", "1Table")) == "doc"


@pytest.mark.parametrize(
    "streams",
    [
        ("Root Entry", "\x05SummaryInformation", "!_StringPool"),  # an .msi installer
        ("Root Entry", "Workbook"),  # an .xls spreadsheet
        ("Root Entry", "PowerPoint Document"),  # a .ppt
        ("Root Entry", "WordDocument", "Macros", "VBA", "_VBA_PROJECT"),  # a .doc with macros
    ],
)
def test_other_ole_files_and_macros_are_refused(streams):
    assert sniff(ole(*streams)) is None


def test_a_plain_docx_is_a_docx():
    data = zipped(
        {
            "[Content_Types].xml": WORD_TYPES,
            "_rels/.rels": "<Relationships/>",
            "word/document.xml": "<w:document/>",
            "docProps/core.xml": "<cp:coreProperties/>",
        }
    )
    assert sniff(data) == "docx"


@pytest.mark.parametrize(
    "parts",
    [
        {  # .docm: macros
            "[Content_Types].xml": MACRO_TYPES,
            "word/document.xml": "<w:document/>",
            "word/vbaProject.bin": b"\0" * 10,
        },
        {  # a .jar dressed as a Word document
            "[Content_Types].xml": WORD_TYPES,
            "word/document.xml": "<w:document/>",
            "META-INF/MANIFEST.MF": "Main-Class: Tool",
            "Tool.class": b"\xca\xfe\xba\xbe",
        },
        {  # an embedded OLE payload
            "[Content_Types].xml": WORD_TYPES,
            "word/document.xml": "<w:document/>",
            "word/embeddings/oleObject1.bin": OLE,
        },
        # Any file embedded, whatever its name (found by a review: only .bin was refused).
        {
            "[Content_Types].xml": WORD_TYPES,
            "word/document.xml": "<w:document/>",
            "word/embeddings/setup.exe": b"MZ\x90\x00",
        },
        {
            "[Content_Types].xml": WORD_TYPES,
            "word/document.xml": "<w:document/>",
            "word/Embeddings/Sheet1.xlsm": b"PK\x03\x04",
        },
    ],
)
def test_macros_and_archives_posing_as_word_documents_are_refused(parts):
    assert sniff(zipped(parts)) is None


@pytest.mark.parametrize(
    ("original", "kind", "served"),
    [
        ("setup.msi", "doc", "setup.doc"),
        ("意见（修改稿）.docm", "docx", "意见（修改稿）.docx"),
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ('a"; filename="x.exe\r\n.pdf', "pdf", "a__ filename__x_exe__.pdf"),
        ("", "png", "attachment.png"),
    ],
)
def test_files_are_served_under_a_safe_name_with_their_real_extension(original, kind, served):
    assert download_name(original, kind) == served


@pytest.mark.django_db
def test_a_download_carries_the_real_types_extension(client, weifang_open):
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile

    from consult.comments.models import Attachment
    from consult.comments.services import comment_submit
    from consult.consultations.models import Department
    from consult.consultations.services import staff_join

    word_97 = ole("Root Entry", "WordDocument", "1Table")
    comment_submit(
        consultation=weifang_open,
        clause=None,
        body="附件是我们协会的书面意见，请查收并答复。",
        channel="web",
        consent=True,
        phone="13812345678",
        attachment=SimpleUploadedFile("setup.msi", word_97),
        attachment_type="doc",
    )
    attachment = Attachment.objects.get()
    coordinator = User.objects.create_user("hyj", password="pw")
    staff_join(coordinator, Department.objects.get(name="市海渔局"))
    client.force_login(coordinator)
    response = client.get(f"/staff/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="setup.doc"'
    assert b"".join(response.streaming_content) == word_97


# --- zips that lie about themselves ------------------------------------------------------------

PLAIN_PARTS = {"_rels/.rels": "<Relationships/>", "word/document.xml": "<w:document/>"}


def docx_with(content_types: bytes | str, **zip_options) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("[Content_Types].xml"), content_types, **zip_options)
        for name, content in PLAIN_PARTS.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_content_types_part_that_unpacks_to_megabytes_is_refused_unread():
    """A zip bomb: 20 MB of content types in about 20 kB of upload, every byte of which was
    read into the web process's memory (an anonymous form, a few gigabytes per post)."""
    bomb = docx_with(
        WORD_TYPES.encode() + b" " * (20 * 1024 * 1024), compress_type=zipfile.ZIP_DEFLATED
    )
    assert len(bomb) < 100 * 1024
    assert sniff(bomb) is None


def with_compression_method(data: bytes, method: int) -> bytes:
    """The zip with its first entry's method rewritten in both its headers (local and central)."""
    data = bytearray(data)
    data[8:10] = method.to_bytes(2, "little")
    central = data.index(b"PK\x01\x02")  # the first entry's central header
    data[central + 10 : central + 12] = method.to_bytes(2, "little")
    return bytes(data)


def encrypted(data: bytes) -> bytes:
    data = bytearray(data)
    data[6] |= 0x1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1
    return bytes(data)


def corrupt(data: bytes) -> bytes:
    """The first entry's deflated stream replaced by bytes no inflater reads."""
    data = bytearray(data)
    name_length = int.from_bytes(data[26:28], "little")
    start = 30 + name_length + int.from_bytes(data[28:30], "little")
    data[start : start + 4] = b"\xff\xff\xff\xff"
    return bytes(data)


@pytest.mark.parametrize(
    "spoil",
    [encrypted, lambda data: with_compression_method(data, 9), corrupt],  # 9: Deflate64
    ids=["encrypted", "unknown-compression", "corrupt-stream"],
)
def test_a_zip_python_cannot_read_is_refused_not_a_server_error(spoil):
    """zipfile raises RuntimeError, NotImplementedError and zlib.error for these: uncaught, a
    500 for whoever posted them."""
    data = spoil(docx_with(WORD_TYPES, compress_type=zipfile.ZIP_DEFLATED))
    assert sniff(data) is None


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            zipped(
                {
                    "[Content_Types].xml": WORD_TYPES,
                    "word/document.xml": "<w:document/>",
                    "word/embeddings/oleObject1.bin": OLE,  # a MathType equation, say
                }
            ),
            "含有嵌入的对象",
        ),
        (
            zipped(
                {
                    "[Content_Types].xml": MACRO_TYPES,
                    "word/document.xml": "<w:document/>",
                    "word/vbaProject.bin": b"\0" * 10,
                }
            ),
            "含有宏",
        ),
        (ole("Root Entry", "WordDocument", "Macros", "VBA", "_VBA_PROJECT"), "含有宏"),
    ],
)
def test_a_real_word_file_refused_for_what_it_holds_is_told_so(data, said):
    """A Word file with an equation in it was told it was "not a Word file": its sender could
    not tell what to change. The reason, and what to do (save it as PDF)."""
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from consult.comments.attachments import clean_attachment

    with pytest.raises(ValidationError) as refused:
        clean_attachment(SimpleUploadedFile("意见.docx", data))
    [message] = refused.value.messages
    assert said in message and "PDF" in message


def test_a_file_that_is_not_word_at_all_keeps_the_general_message():
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from consult.comments.attachments import clean_attachment

    with pytest.raises(ValidationError) as refused:
        clean_attachment(SimpleUploadedFile("a.docx", zipped({"Tool.class": b"\xca\xfe"})))
    assert "实际内容不是这些格式" in refused.value.messages[0]
