// ArrayBufferView plumbing for the byte streams, with intrinsics captured at start-up: what kind
// of view a value is (its typed array name, or DataView) with its buffer, byte offset and byte
// length, and the construction of a view of a given kind.
(function () {
  'use strict';
  const apply = Reflect.apply;
  const getter = (o, k) => Object.getOwnPropertyDescriptor(o, k).get;
  const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
  const taBuffer = getter(TypedArrayPrototype, 'buffer');
  const taOffset = getter(TypedArrayPrototype, 'byteOffset');
  const taLength = getter(TypedArrayPrototype, 'byteLength');
  const taName = getter(TypedArrayPrototype, Symbol.toStringTag);
  const dvBuffer = getter(DataView.prototype, 'buffer');
  const dvOffset = getter(DataView.prototype, 'byteOffset');
  const dvLength = getter(DataView.prototype, 'byteLength');
  const isView = ArrayBuffer.isView;
  const detached = getter(ArrayBuffer.prototype, 'detached');
  const constructors = {
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
  };
  if (typeof Float16Array === 'function') constructors.Float16Array = Float16Array;
  return [
    // describe(v): [kind, buffer, byteOffset, byteLength, detached] for an ArrayBufferView over
    // an ArrayBuffer, else undefined.
    (v) => {
      if (!isView(v)) return undefined;
      const name = apply(taName, v, []);
      const parts = name !== undefined
        ? [name, apply(taBuffer, v, []), apply(taOffset, v, []), apply(taLength, v, [])]
        : ['DataView', apply(dvBuffer, v, []), apply(dvOffset, v, []), apply(dvLength, v, [])];
      let isDetached;
      try { isDetached = apply(detached, parts[1], []); } catch (e) { return undefined; }
      parts.push(isDetached);
      return parts;
    },
    // make(kind, buffer, byteOffset, byteLength): a new view of that kind.
    (kind, buffer, byteOffset, byteLength) => {
      const C = constructors[kind];
      return kind === 'DataView'
        ? new C(buffer, byteOffset, byteLength)
        : new C(buffer, byteOffset, byteLength / C.BYTES_PER_ELEMENT);
    },
  ];
})()
