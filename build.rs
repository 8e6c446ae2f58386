fn main() {
    // Debug info lets Slint's testing backend find elements by accessible label; tests
    // would find nothing without it (and they fail, rather than pass, when that happens).
    // The translations (lang/<code>/LC_MESSAGES/marketday.po) are bundled into the binary:
    // nothing to install, and src/i18n.rs reads the same files for the words made in Rust.
    // No default context: a string keeps its translation when it moves to another component.
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(true)
        .with_bundled_translations("lang")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    slint_build::compile_with_config("ui/app.slint", config).expect("the .slint files compile");
}
