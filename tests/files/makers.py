"""Print files made in the test, good and broken, for the content checks."""

import io
import struct
import zipfile

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

CORE = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>'
)
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="model" '
    'ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>'
)
TRIANGLE = (
    "<object id='1' type='model'><mesh><vertices><vertex x='0' y='0' z='0'/>"
    "<vertex x='1' y='0' z='0'/><vertex x='0' y='1' z='0'/></vertices>"
    "<triangles><triangle v1='0' v2='1' v3='2'/></triangles></mesh></object>"
)


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def binary_stl(triangles: int, header: bytes = b"made by the tests") -> bytes:
    facet = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    return header.ljust(80, b" ")[:80] + struct.pack("<I", triangles) + facet * triangles


def model(resources: str = TRIANGLE, after: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><model unit="millimeter" xmlns="{CORE}">'
        f"<resources>{resources}</resources><build><item objectid='1'/></build></model>{after}"
    )


def three_mf(parts: dict[str, str | bytes | None] | None = None, **more: str | bytes) -> bytes:
    """A 3MF package: the content types, the relationships and a one-triangle model, unless
    `parts` says otherwise (a part given as None is left out)."""
    given: dict[str, str | bytes | None] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": RELS,
        "3D/3dmodel.model": model(),
    }
    given.update(parts or {})
    given.update(more)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in given.items():
            if data is not None:
                package.writestr(name, data)
    return buffer.getvalue()


def step(body: str = "DATA;\n#1=CARTESIAN_POINT('',(0.,0.,0.));\nENDSEC;\n") -> bytes:
    return (
        "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION((''),'2;1');\n"
        "FILE_NAME('part.step','2026-01-01T00:00:00',(''),(''),'','','');\n"
        "FILE_SCHEMA(('AUTOMOTIVE_DESIGN'));\nENDSEC;\n"
        f"{body}END-ISO-10303-21;\n"
    ).encode()


def icosphere(subdivisions: int, radius: float = 10.0) -> np.ndarray:
    """A sphere of 20 * 4**subdivisions triangles, as (n, 3, 3) float32 corners: each
    subdivision splits every triangle into four, with the new corners pushed out onto the
    sphere, so shared edges get exactly the same midpoint (watertight). bench/analysis.py
    measures one of 1,310,720 triangles."""
    t = (1 + 5**0.5) / 2
    corners = np.array(
        [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
         [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]],
    )  # fmt: skip
    faces = [
        [0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
        [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
        [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1],
    ]  # fmt: skip
    triangles = (corners / np.linalg.norm(corners, axis=1)[:, None])[np.array(faces)]
    for _ in range(subdivisions):
        a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
        ab, bc, ca = (
            (p + q) / np.linalg.norm(p + q, axis=1)[:, None] for p, q in ((a, b), (b, c), (c, a))
        )
        triangles = np.stack(
            [
                np.stack(corners, axis=1)
                for corners in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))
            ],
            axis=1,
        ).reshape(-1, 3, 3)
    return (triangles * radius).astype(np.float32)
