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

/// Whether `source` reads as an ES module (an `import` or `export` statement, or top-level
/// `await`), by QuickJS's own test.
pub fn looks_like_module(source: &str) -> bool {
    // SAFETY: `JS_DetectModule` only reads `len` bytes from `input`, which points at `source`'s
    // live bytes for the duration of the call.
    unsafe { rquickjs::qjs::JS_DetectModule(source.as_ptr().cast(), source.len() as _) }
}
