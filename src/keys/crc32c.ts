/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Google
 * Cloud KMS uses for its integrity fields (`digestCrc32c`, `signatureCrc32c`,
 * `pemCrc32c`, ...). Table-driven; the messages it covers are a few hundred
 * bytes, so no native or hardware-accelerated implementation is needed.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC32C of `data` as an unsigned 32-bit number (`crc32c("123456789") === 0xe3069283`). */
export function crc32c(data: Uint8Array | string): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
