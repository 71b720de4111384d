// ReadableStream.from(asyncIterable): the standard's ReadableStreamFromIterable. The stream is
// the core's, made natively by `makeStream` with a high-water mark of 0; the core reacts to what
// these algorithms return as it is, as the standard does with its own algorithms' promises. This
// glue supplies the pull and cancel algorithms, which step an ECMAScript iterator opened from the
// argument converted to Web IDL's async_sequence<any> (CreateAsyncFromSyncIterator for sync
// iterables, as ECMA-262 specifies it). Called once at start-up; intrinsics are captured now, so
// scripts that patch them later change nothing.
(function () {
  'use strict';
  const P = Promise;
  const then = P.prototype.then;
  const apply = Reflect.apply;
  const resolve = P.resolve.bind(P);
  const reject = P.reject.bind(P);
  const defineProperty = Object.defineProperty;
  const create = Object.create;
  const asyncIteratorSymbol = Symbol.asyncIterator;
  const iteratorSymbol = Symbol.iterator;
  const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';
  const iterResult = (value, done) => ({ value, done });

  // GetMethod(V, P): GetV throws for undefined and null; undefined and null mean "no method".
  function getMethod(v, key) {
    const f = v[key];
    if (f === undefined || f === null) return undefined;
    if (typeof f !== 'function') throw new TypeError(`${String(key)} is not a function`);
    return f;
  }

  // GetIteratorFromMethod(obj, method).
  function getIteratorFromMethod(obj, method) {
    const iterator = apply(method, obj, []);
    if (!isObject(iterator)) throw new TypeError('the iterator method did not return an object');
    return { iterator, nextMethod: iterator.next, done: false };
  }

  // IteratorNext(iteratorRecord).
  function iteratorNext(record, args) {
    const result = apply(record.nextMethod, record.iterator, args);
    if (!isObject(result)) throw new TypeError('the iterator result is not an object');
    return result;
  }

  // IteratorClose(iteratorRecord, completion) for a throw completion `error`.
  function closeIteratorWithError(record, error) {
    try {
      const ret = getMethod(record.iterator, 'return');
      if (ret !== undefined) apply(ret, record.iterator, []);
    } catch (ignored) {
      // The original throw completion wins.
    }
    throw error;
  }

  // AsyncFromSyncIteratorContinuation(result, promiseCapability, syncIteratorRecord, closeOnRejection).
  function continuation(result, syncRecord, closeOnRejection) {
    let done;
    let valueWrapper;
    try {
      done = !!result.done;
      const value = result.value;
      try {
        valueWrapper = resolve(value);
      } catch (e) {
        if (!done && closeOnRejection) closeIteratorWithError(syncRecord, e);
        throw e;
      }
    } catch (e) {
      return reject(e);
    }
    const onFulfilled = (v) => iterResult(v, done);
    const onRejected = done || !closeOnRejection
      ? undefined
      : (error) => closeIteratorWithError(syncRecord, error);
    return apply(then, valueWrapper, [onFulfilled, onRejected]);
  }

  // CreateAsyncFromSyncIterator(syncIteratorRecord): an async iterator record whose next and
  // return follow %AsyncFromSyncIteratorPrototype% (throw is never called here).
  function createAsyncFromSyncIterator(syncRecord) {
    const iterator = {
      next(...args) {
        let result;
        try {
          result = iteratorNext(syncRecord, args.length > 0 ? [args[0]] : []);
        } catch (e) {
          return reject(e);
        }
        return continuation(result, syncRecord, true);
      },
      return(...args) {
        let result;
        try {
          const ret = getMethod(syncRecord.iterator, 'return');
          if (ret === undefined) return resolve(iterResult(args[0], true));
          result = apply(ret, syncRecord.iterator, args.length > 0 ? [args[0]] : []);
          if (!isObject(result)) throw new TypeError('the iterator result is not an object');
        } catch (e) {
          return reject(e);
        }
        return continuation(result, syncRecord, false);
      },
    };
    return { iterator, nextMethod: iterator.next, done: false };
  }

  // Web IDL: converting an ECMAScript value to an IDL async_sequence<any> (the type of from()'s
  // argument in the standard's IDL). Not an Object: TypeError (so a string, iterable as it is, is
  // rejected); then GetMethod(@@asyncIterator), else GetMethod(@@iterator), else TypeError. The
  // methods are looked up now and called only when the sequence is opened.
  function toAsyncSequence(value) {
    if (!isObject(value)) {
      throw new TypeError('ReadableStream.from() needs an object that is async iterable or iterable');
    }
    const method = getMethod(value, asyncIteratorSymbol);
    if (method !== undefined) return { object: value, method, type: 'async' };
    const syncMethod = getMethod(value, iteratorSymbol);
    if (syncMethod === undefined) {
      throw new TypeError('ReadableStream.from() needs an async iterable or an iterable');
    }
    return { object: value, method: syncMethod, type: 'sync' };
  }

  // Web IDL's "end of iteration", which "get the next value" returns at the end.
  const endOfIteration = create(null);

  // Web IDL: getting the next value of an async iterator. A promise resolved with the iterator's
  // next() result (a new promise, even of a promise, which it adopts two jobs later), reacted to:
  // the iterator result's value, or end of iteration.
  function getNextValue(record) {
    let nextResult;
    try {
      nextResult = iteratorNext(record, []);
    } catch (e) {
      return reject(e);
    }
    const nextPromise = new P((r) => r(nextResult));
    return apply(then, nextPromise, [(iterResultObject) => {
      if (!isObject(iterResultObject)) throw new TypeError('the iterator result is not an object');
      return iterResultObject.done ? endOfIteration : iterResultObject.value;
    }]);
  }

  // Web IDL: opening an async sequence.
  function openAsyncSequence(sequence) {
    const record = getIteratorFromMethod(sequence.object, sequence.method);
    return sequence.type === 'sync' ? createAsyncFromSyncIterator(record) : record;
  }

  return function install(ReadableStream, makeStream, enqueue, close) {
    // ReadableStreamDefaultControllerEnqueue/Close return quietly when the stream cannot take
    // them (it was cancelled meanwhile); the public methods throw a TypeError then.
    const quietly = (method, controller, args) => {
      try { apply(method, controller, args); } catch (e) { if (!(e instanceof TypeError)) throw e; }
    };
    const from = {
      from(asyncIterable) {
        // The argument's conversion to async_sequence<any>, then ReadableStreamFromIterable.
        const sequence = toAsyncSequence(asyncIterable);
        const record = openAsyncSequence(sequence);
        // The pull algorithm: get the next value of the iterator (Web IDL), then react to it.
        const pull = (controller) => {
          const nextPromise = getNextValue(record);
          return apply(then, nextPromise, [(value) => {
            if (value === endOfIteration) {
              quietly(close, controller, []);
            } else {
              quietly(enqueue, controller, [value]);
            }
          }]);
        };
        const cancel = (reason) => {
          const iterator = record.iterator;
          let returnResult;
          try {
            const returnMethod = getMethod(iterator, 'return');
            if (returnMethod === undefined) return resolve(undefined);
            returnResult = apply(returnMethod, iterator, [reason]);
          } catch (e) {
            return reject(e);
          }
          const returnPromise = new P((r) => r(returnResult));
          return apply(then, returnPromise, [(iterResultObject) => {
            if (!isObject(iterResultObject)) {
              throw new TypeError('the iterator return() result is not an object');
            }
            return undefined;
          }]);
        };
        return makeStream(pull, cancel);
      },
    }.from;
    defineProperty(ReadableStream, 'from', { value: from, writable: true, enumerable: true, configurable: true });
  };
})()
