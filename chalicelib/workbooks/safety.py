"""Refuse uploads that are not a plain .xlsx before any parser touches them: old .xls, encrypted
workbooks (an OLE container too), other files, and archives that would inflate too far."""
from __future__ import annotations

import io
import zipfile

from chalicelib.errors import BadFileError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_INFLATED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200


def check_xlsx(data: bytes) -> None:
    if not data:
        raise BadFileError("文件为空，请选择填写好的 .xlsx 文件")
    if data.startswith(OLE_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00" in data[:1 << 16] or b"EncryptedPackage" in data:
            raise BadFileError("文件已加密（设置了打开密码），请取消密码后另存为 .xlsx 再导入")
        raise BadFileError("不支持旧版 Excel（.xls）文件，请在 Excel 中“另存为”Excel 工作簿（.xlsx）后再导入")
    if not data.startswith(b"PK"):
        raise BadFileError("文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后导入")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except zipfile.BadZipFile:
        raise BadFileError("文件已损坏，无法读取，请重新保存为 .xlsx 后导入")
    names = {e.filename for e in entries}
    if "xl/workbook.xml" not in names:
        raise BadFileError("文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后导入")
    inflated = sum(e.file_size for e in entries)
    compressed = sum(e.compress_size for e in entries) or 1
    if inflated > MAX_INFLATED_BYTES or inflated / compressed > MAX_RATIO:
        raise BadFileError("文件解压后过大，疑似异常文件，已拒绝导入")
