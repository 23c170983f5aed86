#!/usr/bin/python3
# Regenerates the fixtures of tests/check_npy.c and tests/check_jsonl.c
# (tests/data/npy, tests/data/jsonl). Run from tests/data; needs numpy.
# The outputs are committed so that the tests never need python.
import gzip, io
import numpy as np

f4 = (np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1).astype('<f4')
np.save('npy/f4_2x3.npy', f4)
np.save('npy/f4_1d.npy', np.array([1.5, -2, 3.25], dtype='<f4'))
np.save('npy/f8_2x3.npy', np.array([[0.1, 1e-3, -7], [1e30, 2.5, 0]], dtype='<f8'))
for v in [(2, 0), (3, 0)]:
    with open('npy/f4_v%d.npy' % v[0], 'wb') as fh:
        np.lib.format.write_array(fh, np.array([1, 2, 3, 4], dtype='<f4'), version=v)
np.save('npy/big_endian.npy', np.array([1, 2, 3], dtype='>f4'))
np.save('npy/fortran.npy', np.asfortranarray(f4))
np.save('npy/int64.npy', np.array([1, 2, 3], dtype='<i8'))
np.save('npy/rank3.npy', np.zeros((2, 2, 2), dtype='<f4'))
np.save('npy/scalar.npy', np.float32(2.5))
np.save('npy/f8_overflow.npy', np.array([1.0, 1e300], dtype='<f8'))
b = io.BytesIO()
np.save(b, np.arange(100, dtype='<f4'))
raw = b.getvalue()
open('npy/truncated.npy', 'wb').write(raw[:128 + 37])
open('npy/extra.npy', 'wb').write(raw + b'xyz')
open('npy/not_npy.json', 'w').write('{"descr": "<f4", "shape": [3]}\n')

lines = b'{"id": 1, "name": "a"}\n\n{"id": 2}\r\n   \n\r\n{"id": 3, "x": 1.5}'
open('jsonl/lines.jsonl', 'wb').write(lines)
open('jsonl/lines.jsonl.gz', 'wb').write(gzip.compress(lines, mtime=0))
many = b''.join(b'{"id": %d, "pad": "%s"}\n' % (i, b'x' * (i % 50)) for i in range(2000))
gz = gzip.compress(many, mtime=0)
open('jsonl/truncated.jsonl.gz', 'wb').write(gz[:len(gz) // 2])
open('jsonl/bad.jsonl', 'wb').write(b'{"id": 1}\n\n{"id": 4,, }\n')
open('jsonl/trailing.jsonl', 'wb').write(b'{"id": 1} x\n')
open('jsonl/multi.json', 'wb').write(b'[\n  {"id": 1},\n  {"id": 2}\n]\n')
open('jsonl/bad.json', 'wb').write(b'[\n  {"id": 1},\n  {"id": 2\n]\n')
