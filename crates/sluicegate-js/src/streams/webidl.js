// WebIDL's shape for the stream classes, applied once every class is defined: interface objects
// non-enumerable on the global with their `length`; operations enumerable, named, with the
// `length` of their required arguments, a TypeError for too few arguments, and (for operations
// and attributes that return promises) exceptions turned into rejected promises; attributes as
// enumerable getters named `get <name>`. rquickjs's class macros give the behaviour; this gives
// the property shapes the IDL (`streams.idl` of the Streams Standard) prescribes.
(function () {
  'use strict';
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const P = Promise;
  const reject = P.reject.bind(P);

  // interface name: [constructor length, operations, attributes]. An operation is
  // [required arguments, returns a promise]; an attribute is whether it is a promise.
  const interfaces = {
    ReadableStream: [0, { cancel: [0, true], getReader: [0], pipeThrough: [1], pipeTo: [1, true], tee: [0] }, { locked: false }],
    ReadableStreamDefaultReader: [1, { read: [0, true], releaseLock: [0], cancel: [0, true] }, { closed: true }],
    ReadableStreamBYOBReader: [1, { read: [1, true], releaseLock: [0], cancel: [0, true] }, { closed: true }],
    ReadableStreamDefaultController: [0, { close: [0], enqueue: [0], error: [0] }, { desiredSize: false }],
    ReadableByteStreamController: [0, { close: [0], enqueue: [1], error: [0] }, { byobRequest: false, desiredSize: false }],
    ReadableStreamBYOBRequest: [0, { respond: [1], respondWithNewView: [1] }, { view: false }],
    WritableStream: [0, { abort: [0, true], close: [0, true], getWriter: [0] }, { locked: false }],
    WritableStreamDefaultWriter: [1, { abort: [0, true], close: [0, true], releaseLock: [0], write: [0, true] }, { closed: true, desiredSize: false, ready: true }],
    WritableStreamDefaultController: [0, { error: [0] }, { signal: false }],
    TransformStream: [0, {}, { readable: false, writable: false }],
    TransformStreamDefaultController: [0, { enqueue: [0], error: [0], terminate: [0] }, { desiredSize: false }],
    ByteLengthQueuingStrategy: [1, {}, { highWaterMark: false, size: false }],
    CountQueuingStrategy: [1, {}, { highWaterMark: false, size: false }],
    CompressionStream: [1, {}, { readable: false, writable: false }],
    DecompressionStream: [1, {}, { readable: false, writable: false }],
    TextEncoder: [0, { encode: [0], encodeInto: [2] }, { encoding: false }],
    TextDecoder: [0, { decode: [0] }, { encoding: false, fatal: false, ignoreBOM: false }],
    TextEncoderStream: [0, {}, { encoding: false, readable: false, writable: false }],
    TextDecoderStream: [0, {}, { encoding: false, fatal: false, ignoreBOM: false, readable: false, writable: false }],
  };

  function setNameAndLength(f, name, length) {
    defineProperty(f, 'name', { value: name, writable: false, enumerable: false, configurable: true });
    defineProperty(f, 'length', { value: length, writable: false, enumerable: false, configurable: true });
  }

  function wrapOperation(original, name, required, promise) {
    const f = {
      [name](...args) {
        if (promise) {
          try {
            if (args.length < required) throw new TypeError(`${name}() needs ${required} argument(s)`);
            return apply(original, this, args);
          } catch (e) {
            return reject(e);
          }
        }
        if (args.length < required) throw new TypeError(`${name}() needs ${required} argument(s)`);
        return apply(original, this, args);
      },
    }[name];
    setNameAndLength(f, name, required);
    return f;
  }

  // A getter returning a promise: an exception becomes a rejected promise.
  function wrapPromiseGetter(original, name) {
    const f = {
      get [name]() {
        try {
          return apply(original, this, []);
        } catch (e) {
          return reject(e);
        }
      },
    };
    const getter = getOwnPropertyDescriptor(f, name).get;
    setNameAndLength(getter, `get ${name}`, 0);
    return getter;
  }

  return function install(global) {
    for (const name of Object.keys(interfaces)) {
      const ctor = getOwnPropertyDescriptor(global, name)?.value;
      if (typeof ctor !== 'function') continue;
      const [length, operations, attributes] = interfaces[name];
      defineProperty(global, name, { value: ctor, writable: true, enumerable: false, configurable: true });
      setNameAndLength(ctor, name, length);
      const proto = ctor.prototype;
      defineProperty(proto, 'constructor', { value: ctor, writable: true, enumerable: false, configurable: true });
      for (const op of Object.keys(operations)) {
        const desc = getOwnPropertyDescriptor(proto, op);
        if (!desc || typeof desc.value !== 'function' || !desc.configurable) continue;
        const [required, promise] = operations[op];
        // An operation with nothing to check and no promise to return is the native function
        // itself, renamed: a wrapper would cost a JS call, a rest array and a Reflect.apply on
        // every call (three per chunk on a JS pipe) for no difference script could see.
        const value = required === 0 && !promise
          ? (setNameAndLength(desc.value, op, 0), desc.value)
          : wrapOperation(desc.value, op, required, !!promise);
        defineProperty(proto, op, {
          value,
          writable: true, enumerable: true, configurable: true,
        });
      }
      for (const attr of Object.keys(attributes)) {
        const desc = getOwnPropertyDescriptor(proto, attr);
        // Getters must be defined `#[qjs(get, enumerable, configurable)]` to be reshaped here.
        if (!desc || typeof desc.get !== 'function' || !desc.configurable) continue;
        // A getter that returns no promise is the native one, renamed (as operations above).
        const get = attributes[attr]
          ? wrapPromiseGetter(desc.get, attr)
          : (setNameAndLength(desc.get, `get ${attr}`, 0), desc.get);
        defineProperty(proto, attr, {
          get,
          set: undefined, enumerable: true, configurable: true,
        });
      }
    }
  };
})()
