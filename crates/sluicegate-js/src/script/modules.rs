//! ES module loading for `sluicejs`: `import` of relative (`./x.js`, `../lib/y.mjs`) and absolute
//! paths, resolved against the importing file; a module's name is its canonical path, which is
//! what stack traces show.
//!
//! Bare specifiers (`import 'lodash'`) are refused with a message saying so: there is no package
//! lookup.

use std::path::Path;

use rquickjs::loader::{Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Error, Module};

/// Resolves `./`, `../` and `/` specifiers to canonical paths.
#[derive(Debug, Default)]
pub struct RelativeResolver;

impl Resolver for RelativeResolver {
    fn resolve<'js>(&mut self, _ctx: &Ctx<'js>, base: &str, name: &str) -> rquickjs::Result<String> {
        if !(name.starts_with("./") || name.starts_with("../") || name.starts_with('/')) {
            return Err(Error::new_resolving_message(
                base,
                name,
                "only relative ('./', '../') and absolute paths can be imported",
            ));
        }
        let dir = Path::new(base).parent().unwrap_or(Path::new("."));
        let path = dir.join(name);
        match path.canonicalize() {
            Ok(path) => Ok(path.to_string_lossy().into_owned()),
            Err(e) => Err(Error::new_resolving_message(base, name, e.to_string())),
        }
    }
}

/// Reads a resolved path and declares it as a module.
#[derive(Debug, Default)]
pub struct FileLoader;

impl Loader for FileLoader {
    fn load<'js>(&mut self, ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js, Declared>> {
        let source = std::fs::read(name).map_err(|e| Error::new_loading_message(name, e.to_string()))?;
        Module::declare(ctx.clone(), name, source)
    }
}

/// Whether `source` is an ES module, decided as Node decides for a `.js` file of unknown type: a
/// source that compiles as a classic script is one; one that does not, but compiles as a module
/// (it has `import`, `export` or top-level `await`), is a module. Nothing runs: both are compiled
/// only, the module in a separate QuickJS runtime with no loader (QuickJS's `JS_DetectModule`).
pub fn looks_like_module(ctx: &Ctx<'_>, source: &str) -> bool {
    // QuickJS's parser needs a NUL after the input; a source with a NUL inside is a script.
    let Ok(source) = std::ffi::CString::new(source) else {
        return false;
    };
    let len = source.as_bytes().len();
    // SAFETY: `source` is a live NUL-terminated buffer of `len` bytes plus the NUL; the context
    // is live and on this thread. Compiling only runs nothing; the compiled function (or the
    // exception) is freed before returning.
    let compiles_as_script = unsafe {
        let raw = ctx.as_raw().as_ptr();
        let flags = (rquickjs::qjs::JS_EVAL_TYPE_GLOBAL | rquickjs::qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
        let value = rquickjs::qjs::JS_Eval(raw, source.as_ptr(), len as _, c"<detect>".as_ptr(), flags);
        let failed = rquickjs::qjs::JS_IsException(value);
        if failed {
            rquickjs::qjs::JS_FreeValue(raw, rquickjs::qjs::JS_GetException(raw));
        } else {
            rquickjs::qjs::JS_FreeValue(raw, value);
        }
        !failed
    };
    // SAFETY: as above; `JS_DetectModule` only reads the buffer during the call.
    !compiles_as_script && unsafe { rquickjs::qjs::JS_DetectModule(source.as_ptr(), len as _) }
}

#[cfg(test)]
mod tests {
    use super::looks_like_module;

    fn is_module(source: &str) -> bool {
        let rt = crate::Runtime::new().unwrap();
        rt.with(|ctx| looks_like_module(&ctx, source))
    }

    #[test]
    fn module_syntax_and_top_level_await_make_a_module() {
        assert!(is_module("import x from './x.js';"));
        assert!(is_module("export const a = 1;"));
        assert!(is_module("await main();"));
        assert!(is_module("try { f(); } catch (e) {}\nawait g();\n"));
        assert!(is_module("const a = 1;\nconst data = await load();\n"));
        assert!(is_module("let n = 0;\nfor await (const x of stream) n++;\n"));
    }

    #[test]
    fn a_classic_script_or_a_broken_file_is_a_script() {
        assert!(!is_module("console.log('hi');\n"));
        assert!(
            !is_module("var x = 010; with (Math) { x = max(x, 1); }\n"),
            "sloppy mode"
        );
        assert!(!is_module("async function f() {\n  await g();\n}\nf();\n"));
        assert!(!is_module("let y = ;\n"), "a syntax error either way");
    }
}
