//! `structuredClone(value, { transfer })` (HTML), as much as the streams tests use: primitives,
//! wrapper objects, `Date`, `RegExp`, `ArrayBuffer` (copied, or moved and the source detached when
//! listed in `transfer`), typed arrays and `DataView` over cloned buffers, `Map`, `Set`, arrays,
//! plain objects and errors, with shared references and cycles preserved. Functions, symbols and
//! other platform objects throw a `DOMException` named `DataCloneError`.

use rquickjs::Ctx;

const SOURCE: &str = r#"(() => {
  const fail = (what) => { throw new DOMException(what + ' could not be cloned.', 'DataCloneError'); };
  const typedArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const errorTypes = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const toString = (v) => Object.prototype.toString.call(v);
  function structuredClone(value, options = undefined) {
    if (arguments.length === 0) throw new TypeError('structuredClone requires a value');
    let transfer = [];
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw new TypeError('options must be an object');
      if (options.transfer !== undefined) transfer = [...options.transfer];
    }
    const memory = new Map();
    for (const buffer of transfer) {
      if (toString(buffer) !== '[object ArrayBuffer]') fail('A transferable that is not an ArrayBuffer');
      if (memory.has(buffer)) fail('An ArrayBuffer listed twice');
      if (buffer.detached) fail('A detached ArrayBuffer');
      memory.set(buffer, null);
    }
    // Transferred buffers are moved only once the whole value has been walked (as the standard
    // serializes first, then transfers), so a failed clone leaves them attached.
    const moved = [];
    const clone = (v) => {
      if (typeof v === 'function') fail('A function');
      if (typeof v === 'symbol') fail('A symbol');
      if (v === null || typeof v !== 'object') return v;
      if (memory.has(v) && memory.get(v) !== null) return memory.get(v);
      const tag = toString(v);
      let out;
      switch (tag) {
        case '[object ArrayBuffer]':
          if (v.detached) fail('A detached ArrayBuffer');
          if (memory.has(v)) { out = {}; moved.push([v, out]); memory.set(v, out); return out; }
          out = v.slice(0); break;
        case '[object Boolean]': out = new Boolean(v.valueOf()); break;
        case '[object Number]': out = new Number(v.valueOf()); break;
        case '[object String]': out = new String(v.valueOf()); break;
        case '[object BigInt]': out = Object(v.valueOf()); break;
        case '[object Date]': out = new Date(v.getTime()); break;
        case '[object RegExp]': out = new RegExp(v.source, v.flags); break;
        case '[object DataView]': {
          const buffer = clone(v.buffer), offset = v.byteOffset, length = v.byteLength;
          out = { deferred: () => new DataView(resolve(buffer), offset, length) };
          break;
        }
        case '[object Map]': out = new Map(); memory.set(v, out);
          for (const [k, x] of v) out.set(clone(k), clone(x)); return out;
        case '[object Set]': out = new Set(); memory.set(v, out);
          for (const x of v) out.add(clone(x)); return out;
        case '[object Array]': out = new Array(v.length); memory.set(v, out);
          for (const k of Object.keys(v)) out[k] = clone(v[k]); return out;
        case '[object Error]': {
          const name = v.name in errorTypes ? v.name : 'Error';
          out = new errorTypes[name](v.message === undefined ? undefined : String(v.message));
          if ('stack' in v) out.stack = v.stack;
          break;
        }
        case '[object Object]':
          if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null
              && !ArrayBuffer.isView(v)) {
            // Class instances clone as plain objects of their own enumerable data, like in browsers,
            // unless they are platform objects (checked by their tag above).
          }
          out = {}; memory.set(v, out);
          for (const k of Object.keys(v)) out[k] = clone(v[k]); return out;
        default: {
          const ctor = typedArrays.find((T) => v instanceof T);
          if (ctor && ArrayBuffer.isView(v)) {
            const buffer = clone(v.buffer), offset = v.byteOffset, length = v.length;
            out = { deferred: () => new ctor(resolve(buffer), offset, length) };
            break;
          }
          fail('A ' + tag.slice(8, -1));
        }
      }
      memory.set(v, out);
      return out;
    };
    let result = clone(value);
    // Move transferred buffers now (detaching the sources), then build views over the results.
    const replaced = new Map();
    for (const [buffer, placeholder] of moved) replaced.set(placeholder, buffer.transfer());
    // Listed buffers the value does not reach are detached all the same.
    for (const buffer of transfer) if (!buffer.detached) buffer.transfer();
    function resolve(b) { return replaced.has(b) ? replaced.get(b) : b; }
    const fixed = new Map();
    const fix = (v) => {
      if (v === null || typeof v !== 'object') return v;
      if (replaced.has(v)) return replaced.get(v);
      if (typeof v.deferred === 'function' && Object.keys(v).length === 1) {
        if (!fixed.has(v)) fixed.set(v, v.deferred());
        return fixed.get(v);
      }
      if (fixed.has(v)) return v;
      fixed.set(v, v);
      if (v instanceof Map) { const entries = [...v]; v.clear(); for (const [k, x] of entries) v.set(fix(k), fix(x)); }
      else if (v instanceof Set) { const items = [...v]; v.clear(); for (const x of items) v.add(fix(x)); }
      else if (Array.isArray(v) || toString(v) === '[object Object]') { for (const k of Object.keys(v)) v[k] = fix(v[k]); }
      return v;
    };
    return fix(result);
  }
  Object.defineProperty(globalThis, 'structuredClone', { value: structuredClone, writable: true, configurable: true });
})();"#;

/// Defines the global `structuredClone`.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    ctx.eval::<(), _>(SOURCE)
}
