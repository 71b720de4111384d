// Helpers of the native transforms: BufferSource checks and string code units, as WebIDL and the
// Encoding Standard define them. Returns [bytesOf, encoderInput].
(function () {
  'use strict';
  const isView = ArrayBuffer.isView;
  const SAB = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : undefined;
  const U8 = Uint8Array;
  const U16 = Uint16Array;
  const getBuffer = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(U8.prototype), 'buffer').get;
  const abByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;

  function isArrayBuffer(v) {
    try {
      Reflect.apply(abByteLength, v, []);
      return true;
    } catch {
      return false;
    }
  }

  // A BufferSource (not shared) as a Uint8Array over its bytes; undefined for anything else.
  function bytesOf(v) {
    if (isView(v)) {
      const b = v instanceof DataView ? v.buffer : Reflect.apply(getBuffer, v, []);
      if (SAB && b instanceof SAB) return undefined;
      try {
        return new U8(b, v.byteOffset, v.byteLength);
      } catch {
        return new U8(0); // detached
      }
    }
    if (typeof v === 'object' && v !== null && isArrayBuffer(v)) {
      try {
        return new U8(v);
      } catch {
        return new U8(0);
      }
    }
    return undefined;
  }

  // A chunk for TextEncoderStream: the DOMString itself when well-formed, else its code units.
  function encoderInput(v) {
    const s = String(v);
    if (s.isWellFormed()) return s;
    const units = new U16(s.length);
    for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
    return units;
  }

  // encodeInto's destination: a Uint8Array (shared or not), written from `bytes`.
  function copyInto(dest, bytes) {
    if (!(dest instanceof U8)) throw new TypeError('encodeInto() needs a Uint8Array destination');
    dest.set(bytes);
  }

  function destLength(dest) {
    if (!(dest instanceof U8)) throw new TypeError('encodeInto() needs a Uint8Array destination');
    return dest.length;
  }

  return [bytesOf, encoderInput, copyInto, destLength];
})()
