//! `self` (the global object, as in a window or worker) and a minimal `console` whose methods
//! print their arguments, space-separated, to stdout (`log`, `info`, `debug`) or stderr (`warn`,
//! `error`).

use rquickjs::{Coerced, Ctx, Function, Object};

/// Defines `self` and `console`.
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    globals.set("self", globals.clone())?;
    let console = Object::new(ctx.clone())?;
    for (name, to_stderr) in [
        ("log", false),
        ("info", false),
        ("debug", false),
        ("warn", true),
        ("error", true),
    ] {
        let print = Function::new(
            ctx.clone(),
            move |args: rquickjs::function::Rest<Coerced<String>>| {
                let line = args.0.into_iter().map(|s| s.0).collect::<Vec<_>>().join(" ");
                if to_stderr {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            },
        )?;
        console.set(name, print)?;
    }
    globals.set("console", console)?;
    Ok(())
}
