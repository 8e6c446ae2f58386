fn main() {
    // Debug info lets Slint's testing backend find elements by accessible label; tests
    // would find nothing without it (and they fail, rather than pass, when that happens).
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    slint_build::compile_with_config("ui/app.slint", config).expect("the .slint files compile");
}
