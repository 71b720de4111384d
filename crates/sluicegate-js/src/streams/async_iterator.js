// WebIDL's async iterator machinery for `ReadableStream` (async iterable<any> with
// ReadableStreamIteratorOptions). Called once at start-up with the prototype and the native
// `acquire(stream, options)`, which returns a reader object with `next()` and `return(value)`
// (the standard's "get the next iteration result" and "asynchronous iterator return").
// Intrinsics are captured now, so scripts that patch them later do not change these steps.
(function () {
  'use strict';
  const P = Promise;
  const then = P.prototype.then;
  const apply = Reflect.apply;
  const resolve = P.resolve.bind(P);
  const reject = P.reject.bind(P);
  const defineProperty = Object.defineProperty;
  const create = Object.create;
  const slots = new WeakMap();
  const get = WeakMap.prototype.get;
  const set = WeakMap.prototype.set;
  const AsyncIteratorPrototype =
    Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);
  const iterResult = (value, done) => ({ value, done });

  return function install(proto, acquire) {
    const iteratorPrototype = create(AsyncIteratorPrototype);

    function slotsOf(it, name) {
      const s = typeof it === 'object' && it !== null ? apply(get, slots, [it]) : undefined;
      if (s === undefined) {
        throw new TypeError(`${name} called on an object that is not a ReadableStream async iterator`);
      }
      return s;
    }

    const methods = {
      next() {
        let s;
        try { s = slotsOf(this, 'next()'); } catch (e) { return reject(e); }
        const nextSteps = () => {
          if (s.finished) return resolve(iterResult(undefined, true));
          let nextPromise;
          try { nextPromise = s.reader.next(); } catch (e) { nextPromise = reject(e); }
          return apply(then, nextPromise, [
            (result) => {
              s.ongoing = null;
              if (result.done) {
                s.finished = true;
                return iterResult(undefined, true);
              }
              return iterResult(result.value, false);
            },
            (reason) => {
              s.ongoing = null;
              s.finished = true;
              throw reason;
            },
          ]);
        };
        s.ongoing = s.ongoing !== null ? apply(then, s.ongoing, [nextSteps, nextSteps]) : nextSteps();
        return s.ongoing;
      },
      return(value) {
        let s;
        try { s = slotsOf(this, 'return()'); } catch (e) { return reject(e); }
        const returnSteps = () => {
          if (s.finished) return resolve(iterResult(value, true));
          s.finished = true;
          return s.reader.return(value);
        };
        // The ongoing promise becomes return's, so a later next() or return() waits for it.
        s.ongoing =
          s.ongoing !== null ? apply(then, s.ongoing, [returnSteps, returnSteps]) : returnSteps();
        return apply(then, s.ongoing, [() => iterResult(value, true)]);
      },
    };
    for (const name of ['next', 'return']) {
      defineProperty(iteratorPrototype, name, {
        value: methods[name], writable: true, enumerable: true, configurable: true,
      });
    }
    defineProperty(iteratorPrototype, Symbol.toStringTag, {
      value: 'ReadableStream AsyncIterator', configurable: true,
    });

    const values = {
      values(options = undefined) {
        const reader = acquire(this, options);
        const it = create(iteratorPrototype);
        apply(set, slots, [it, { reader, ongoing: null, finished: false }]);
        return it;
      },
    }.values;
    defineProperty(proto, 'values', { value: values, writable: true, enumerable: true, configurable: true });
    defineProperty(proto, Symbol.asyncIterator, { value: values, writable: true, enumerable: false, configurable: true });
  };
})()
