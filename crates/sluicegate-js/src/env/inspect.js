// console's formatting: `format(...args)` as console.log prints its arguments, `inspect(value)`
// as a value reads in a REPL. Modelled on what Node's console shows (not its code): strings quoted
// when nested, objects `{ a: 1 }`, arrays `[ 1, 2 ]`, `Map(1) { 'k' => 'v' }`, typed arrays,
// errors with their stack, nesting cut at depth 2 (`[Object]`), cycles marked (`<ref *1>` and
// `[Circular *1]`), long output broken over lines of at most 80 columns.
((promiseState) => {
  const BREAK = 80;
  const MAX_ITEMS = 100;
  const MAX_BYTES = 50;
  const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
  const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayPrototype, Symbol.toStringTag).get;
  const fnToString = Function.prototype.toString;
  const objectToString = Object.prototype.toString;

  const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

  function quote(s) {
    let q = "'";
    if (s.includes("'")) {
      if (!s.includes('"')) q = '"';
      else if (!s.includes('`') && !s.includes('${')) q = '`';
    }
    let out = '';
    for (const ch of s) {
      const code = ch.codePointAt(0);
      if (ch === q || ch === '\\') out += '\\' + ch;
      else if (ch === '\n') out += '\\n';
      else if (ch === '\t') out += '\\t';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\b') out += '\\b';
      else if (ch === '\f') out += '\\f';
      else if (ch === '\v') out += '\\v';
      else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).toUpperCase().padStart(2, '0');
      else out += ch;
    }
    return q + out + q;
  }

  function constructorName(o) {
    for (let p = o; p !== null; p = Object.getPrototypeOf(p)) {
      const d = Object.getOwnPropertyDescriptor(p, 'constructor');
      if (d && typeof d.value === 'function' && d.value.name !== '') return d.value.name;
    }
    return null;
  }

  function primitive(v) {
    switch (typeof v) {
      case 'string': return quote(v);
      case 'number': return Object.is(v, -0) ? '-0' : String(v);
      case 'bigint': return `${v}n`;
      case 'symbol': return v.toString();
      case 'undefined': return 'undefined';
      case 'boolean': return String(v);
    }
    return v === null ? 'null' : undefined;
  }

  function functionBase(f) {
    let source = '';
    try { source = fnToString.call(f); } catch (_) {}
    if (source.startsWith('class')) return f.name ? `[class ${f.name}]` : '[class (anonymous)]';
    const kind = constructorName(f) || 'Function';
    return f.name ? `[${kind}: ${f.name}]` : `[${kind} (anonymous)]`;
  }

  function keyText(k) {
    return typeof k === 'symbol' ? `[${k.toString()}]` : identifier.test(k) ? k : quote(k);
  }

  // Own enumerable properties as `key: value` entries (accessors as [Getter], [Setter]).
  function propertyEntries(o, skip, level, ctx) {
    const out = [];
    const keys = [...Object.keys(o), ...Object.getOwnPropertySymbols(o).filter((s) => Object.prototype.propertyIsEnumerable.call(o, s))];
    for (const k of keys) {
      if (skip && skip(k)) continue;
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (!d) continue;
      let text;
      if (d.get && d.set) text = '[Getter/Setter]';
      else if (d.get) text = '[Getter]';
      else if (d.set) text = '[Setter]';
      else text = value(d.value, level + 1, ctx);
      out.push(`${keyText(k)}: ${text}`);
    }
    return out;
  }

  function isIndex(k) {
    return typeof k === 'string' && /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 2 ** 32 - 1;
  }

  // Short entries of a long list in columns, as a person would lay them out.
  function columns(entries, indent, alignRight) {
    if (entries.length <= 6 || entries.some((e) => e.includes('\n'))) return entries;
    const longest = Math.max(...entries.map((e) => e.length));
    if (longest > 16) return entries;
    const width = longest + 2;
    const count = Math.min(Math.round(Math.sqrt(2.5 * entries.length)), Math.floor((BREAK - indent) / width), 15);
    if (count <= 1) return entries;
    const widths = [];
    for (let c = 0; c < count; c++) {
      let w = 0;
      for (let i = c; i < entries.length; i += count) w = Math.max(w, entries[i].length);
      widths.push(w);
    }
    const rows = [];
    for (let i = 0; i < entries.length; i += count) {
      const cells = [];
      for (let j = i; j < Math.min(i + count, entries.length); j++) {
        const last = j === Math.min(i + count, entries.length) - 1;
        const cell = entries[j] + (last ? '' : ',');
        const w = widths[j - i] + (last ? 0 : 1);
        cells.push(alignRight ? cell.padStart(w) : last ? cell : cell.padEnd(w));
      }
      rows.push(cells.join(' '));
    }
    rows.grouped = true;
    return rows;
  }

  function join(prefix, open, entries, close, level) {
    if (entries.length === 0) return `${prefix}${open}${close}`;
    const indent = '  '.repeat(level);
    if (!entries.grouped && !prefix.includes('\n') && !entries.some((e) => e.includes('\n'))) {
      const line = `${prefix}${open} ${entries.join(', ')} ${close}`;
      if (line.length + indent.length <= BREAK - 4) return line;
    }
    const sep = `,\n${indent}  `;
    return `${prefix}${open}\n${indent}  ${entries.join(sep)}\n${indent}${close}`;
  }

  function error(e, level, ctx) {
    let name, message, stack;
    try { name = e.name; message = e.message; stack = e.stack; } catch (_) {}
    const header = message === undefined || message === '' ? String(name ?? 'Error') : `${name ?? 'Error'}: ${message}`;
    let text = typeof stack === 'string' && stack.trim() !== ''
      ? `${header}\n${stack.replace(/\s+$/, '')}`
      : `[${header}]`;
    const extra = propertyEntries(e, (k) => k === 'stack' || k === 'message', level, ctx);
    if (Object.prototype.hasOwnProperty.call(e, 'cause')) extra.push(`[cause]: ${value(e.cause, level + 1, ctx)}`);
    if (level > 0) text = text.split('\n').join(`\n${'  '.repeat(level)}`);
    return extra.length ? join(`${text} `, '{', extra, '}', level) : text;
  }

  function bytesText(bytes) {
    const shown = Array.from(bytes.subarray(0, MAX_BYTES), (b) => b.toString(16).padStart(2, '0')).join(' ');
    const more = bytes.length > MAX_BYTES ? ` ... ${bytes.length - MAX_BYTES} more byte${bytes.length - MAX_BYTES > 1 ? 's' : ''}` : '';
    return `<${shown}${more}>`;
  }

  function more(n) {
    return `... ${n} more item${n > 1 ? 's' : ''}`;
  }

  function object(o, level, ctx) {
    const ctor = constructorName(o);
    const prefixOf = (fallback) => {
      if (Object.getPrototypeOf(o) === null) return `[${fallback}: null prototype] `;
      return ctor === null || ctor === 'Object' ? '' : `${ctor} `;
    };
    if (typeof o === 'function') {
      const base = functionBase(o);
      const props = level > ctx.depth ? [] : propertyEntries(o, null, level, ctx);
      return props.length ? join(`${base} `, '{', props, '}', level) : base;
    }
    if (o instanceof Error || objectToString.call(o) === '[object Error]') return error(o, level, ctx);
    const tag = ArrayBuffer.isView(o) && !(o instanceof DataView) ? typedArrayTag.call(o) : undefined;
    if (level > ctx.depth) {
      if (Array.isArray(o)) return '[Array]';
      return `[${ctor ?? 'Object'}]`;
    }
    if (Array.isArray(o)) {
      const entries = [];
      let holes = 0;
      const shown = Math.min(o.length, MAX_ITEMS);
      const flushHoles = () => { if (holes) { entries.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`); holes = 0; } };
      for (let i = 0; i < shown; i++) {
        if (!Object.prototype.hasOwnProperty.call(o, i)) { holes++; continue; }
        flushHoles();
        entries.push(value(o[i], level + 1, ctx));
      }
      flushHoles();
      if (o.length > shown) entries.push(more(o.length - shown));
      const numeric = o.every((x) => typeof x === 'number' || typeof x === 'bigint');
      const laid = columns(entries, level * 2, numeric);
      const extra = propertyEntries(o, (k) => isIndex(k), level, ctx);
      const all = laid.concat(extra);
      if (laid.grouped) all.grouped = true;
      const prefix = ctor === 'Array' ? '' : prefixOf('Array');
      return join(prefix, '[', all, ']', level);
    }
    if (tag !== undefined) {
      const shown = Math.min(o.length, MAX_ITEMS);
      const entries = [];
      for (let i = 0; i < shown; i++) entries.push(value(o[i], level + 1, ctx));
      if (o.length > shown) entries.push(more(o.length - shown));
      return join(`${tag}(${o.length}) `, '[', columns(entries, level * 2, true), ']', level);
    }
    if (o instanceof ArrayBuffer) {
      let contents;
      try { contents = bytesText(new Uint8Array(o)); } catch (_) { contents = '(detached)'; }
      return join('ArrayBuffer ', '{', [`[Uint8Contents]: ${contents}`, `byteLength: ${o.byteLength}`], '}', level);
    }
    if (o instanceof Map) {
      const entries = [];
      let i = 0;
      for (const [k, v] of o) {
        if (i++ === MAX_ITEMS) { entries.push(more(o.size - MAX_ITEMS)); break; }
        entries.push(`${value(k, level + 1, ctx)} => ${value(v, level + 1, ctx)}`);
      }
      return join(`${ctor ?? 'Map'}(${o.size}) `, '{', entries.concat(propertyEntries(o, null, level, ctx)), '}', level);
    }
    if (o instanceof Set) {
      const entries = [];
      let i = 0;
      for (const v of o) {
        if (i++ === MAX_ITEMS) { entries.push(more(o.size - MAX_ITEMS)); break; }
        entries.push(value(v, level + 1, ctx));
      }
      return join(`${ctor ?? 'Set'}(${o.size}) `, '{', entries.concat(propertyEntries(o, null, level, ctx)), '}', level);
    }
    if (o instanceof WeakMap || o instanceof WeakSet) return `${ctor} { <items unknown> }`;
    if (o instanceof Date) return Number.isNaN(o.getTime()) ? 'Invalid Date' : o.toISOString();
    if (o instanceof RegExp) return String(o);
    if (o instanceof Promise) {
      const [state, result] = promiseState(o);
      const inner = state === 'pending' ? '<pending>'
        : state === 'rejected' ? `<rejected> ${value(result, level + 1, ctx)}`
        : value(result, level + 1, ctx);
      return join('Promise ', '{', [inner].concat(propertyEntries(o, null, level, ctx)), '}', level);
    }
    for (const [Box, name] of [[Number, 'Number'], [String, 'String'], [Boolean, 'Boolean'], [BigInt, 'BigInt'], [Symbol, 'Symbol']]) {
      if (o instanceof Box || (name === 'BigInt' || name === 'Symbol') && objectToString.call(o) === `[object ${name}]`) {
        let inner;
        try { inner = primitive(Box.prototype.valueOf.call(o)); } catch (_) { continue; }
        const extra = propertyEntries(o, name === 'String' ? isIndex : null, level, ctx);
        const base = `[${name}: ${inner}]`;
        return extra.length ? join(`${base} `, '{', extra, '}', level) : base;
      }
    }
    let prefix = prefixOf('Object');
    const toStringTag = o[Symbol.toStringTag];
    if (typeof toStringTag === 'string' && toStringTag !== '' && toStringTag !== ctor) {
      prefix = `${prefix === '' ? 'Object ' : prefix}[${toStringTag}] `;
    }
    return join(prefix, '{', propertyEntries(o, null, level, ctx), '}', level);
  }

  function value(v, level, ctx) {
    const p = primitive(v);
    if (p !== undefined) return p;
    if (ctx.path.includes(v)) {
      if (!ctx.circular.has(v)) ctx.circular.set(v, ctx.circular.size + 1);
      return `[Circular *${ctx.circular.get(v)}]`;
    }
    ctx.path.push(v);
    let text;
    try {
      text = object(v, level, ctx);
    } finally {
      ctx.path.pop();
    }
    if (ctx.circular.has(v)) text = `<ref *${ctx.circular.get(v)}> ${text}`;
    return text;
  }

  function inspect(v, options) {
    const depth = options && options.depth !== undefined ? (options.depth === null ? Infinity : options.depth) : 2;
    return value(v, 0, { depth, path: [], circular: new Map() });
  }

  function format(...args) {
    let out = '';
    let next = 0;
    if (typeof args[0] === 'string') {
      const template = args[0];
      next = 1;
      let last = 0;
      for (let i = 0; i < template.length - 1; i++) {
        if (template[i] !== '%') continue;
        const spec = template[i + 1];
        let piece;
        if (spec === '%') {
          piece = '%';
        } else if ('sdifjoOc'.includes(spec)) {
          if (next >= args.length) continue;
          const arg = args[next++];
          switch (spec) {
            case 's':
              piece = typeof arg === 'string' ? arg
                : typeof arg === 'bigint' ? `${arg}n`
                : typeof arg === 'object' && arg !== null ? inspect(arg, { depth: 1 })
                : typeof arg === 'symbol' ? arg.toString()
                : primitive(arg) ?? String(arg);
              break;
            case 'd':
            case 'i': {
              if (typeof arg === 'bigint') { piece = `${arg}n`; break; }
              if (typeof arg === 'symbol' || (typeof arg === 'object' && arg !== null)) { piece = 'NaN'; break; }
              const n = spec === 'd' ? Number(arg) : parseInt(arg);
              piece = primitive(n);
              break;
            }
            case 'f':
              piece = typeof arg === 'symbol' ? 'NaN' : primitive(parseFloat(arg));
              break;
            case 'j':
              try { piece = JSON.stringify(arg); } catch (_) { piece = '[Circular]'; }
              break;
            case 'o':
            case 'O':
              piece = inspect(arg, { depth: spec === 'o' ? 4 : 2 });
              break;
            case 'c':
              piece = '';
              break;
          }
        } else {
          continue;
        }
        out += template.slice(last, i) + piece;
        last = i + 2;
        i++;
      }
      out += template.slice(last);
    }
    for (; next < args.length; next++) {
      const arg = args[next];
      out += (out === '' && next === 0 ? '' : ' ') + (typeof arg === 'string' ? arg : inspect(arg));
    }
    return out;
  }

  return { inspect, format };
})
