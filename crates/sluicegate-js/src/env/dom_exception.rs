//! `DOMException` (WebIDL): `new DOMException(message, name)`, with `name`, `message` and the
//! legacy `code` as prototype getters, and `Error.prototype` on its prototype chain so the test
//! harness's `instanceof Error` checks hold.

use rquickjs::Ctx;

const SOURCE: &str = r#"(() => {
  const codes = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4,
    InvalidCharacterError: 5, NoModificationAllowedError: 7, NotFoundError: 8,
    NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12,
    InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20,
    URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23,
    InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  class DOMException extends Error {
    #name; #message;
    constructor(message = '', name = 'Error') {
      super();
      this.#message = String(message);
      this.#name = String(name);
    }
    get name() { return this.#name; }
    get message() { return this.#message; }
    get code() { return Object.hasOwn(codes, this.#name) ? codes[this.#name] : 0; }
  }
  for (const [name, code] of Object.entries(codes)) {
    const constant = name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() + '_ERR';
    Object.defineProperty(DOMException, constant, { value: code, enumerable: true });
    Object.defineProperty(DOMException.prototype, constant, { value: code, enumerable: true });
  }
  Object.defineProperty(DOMException.prototype, Symbol.toStringTag, { value: 'DOMException', configurable: true });
  Object.defineProperty(globalThis, 'DOMException', { value: DOMException, writable: true, configurable: true });
})();"#;

/// Defines the global `DOMException` class.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    ctx.eval::<(), _>(SOURCE)
}
