//! The hello plugin of examples/HELLO.md, in Rust: tools greet and stats,
//! a greeting as a resource and a resource template, and a prompt.

use moat::{Call, Plugin, Prompt, PromptArgument, PromptResult, Resource, ResourceTemplate, Tool, Value};

fn plugin() -> Plugin {
    Plugin::new("hello")
        .version("1.0.0")
        .description("Greets people and counts text.")
        .tool(
            Tool::new("greet")
                .description("Greets someone by name.")
                .input_schema(
                    r#"{"type":"object","properties":{"name":{"type":"string","description":"Who to greet."}},"required":["name"]}"#,
                )
                .read_only()
                .text(greet),
        )
        .tool(
            Tool::new("stats")
                .description("Counts the words, lines and characters of a text.")
                .input_schema(
                    r#"{"type":"object","properties":{"text":{"type":"string","description":"The text to count."}},"required":["text"]}"#,
                )
                .output_schema(
                    r#"{"type":"object","properties":{"words":{"type":"integer"},"lines":{"type":"integer"},"chars":{"type":"integer"}},"required":["words","lines","chars"]}"#,
                )
                .read_only()
                .json(stats),
        )
        .resource(
            Resource::new("hello://greeting", "greeting")
                .description("A greeting from the plugin.")
                .mime_type("text/plain")
                .text(|_| Ok("Hello from moat!".into())),
        )
        .resource_template(
            ResourceTemplate::new("hello://greeting/{name}", "personal-greeting")
                .description("A greeting for the person named in the URI.")
                .mime_type("text/plain")
                .complete("name", people)
                .text(|_, vars| Ok(format!("Hello, {}!", vars.str("name").unwrap_or_default()))),
        )
        .prompt(
            Prompt::new("greet_prompt")
                .description("Asks the model to greet someone warmly.")
                .argument(PromptArgument::new("name").description("Who to greet.").required())
                .complete("name", people)
                .handler(|args| {
                    Ok(PromptResult::user(&format!("Please greet {} warmly.", args.str("name").unwrap_or_default())))
                }),
        )
}

/// The names of a fixed list that start with what was typed.
fn people(value: &str, _: &Value) -> Vec<String> {
    ["Ada", "Alan", "Grace", "Linus"].iter().filter(|n| n.starts_with(value)).map(|n| n.to_string()).collect()
}

moat::plugin!(plugin);

fn greet(call: &Call) -> Result<String, String> {
    moat::log_info("greet called");
    moat::progress(1.0, 1.0, "done");
    let name = call.string("name")?;
    if name.is_empty() {
        return Err("name is empty: pass the name of the person to greet".into());
    }
    Ok(format!("Hello, {}!", name))
}

fn stats(call: &Call) -> Result<Value, String> {
    moat::log_info("stats called");
    moat::progress(1.0, 1.0, "done");
    let text = call.string("text")?;
    let (words, lines, chars) = count(text);
    Ok(Value::object().set("words", words).set("lines", lines).set("chars", chars))
}

/// Words (runs of anything but space, tab, newline and carriage return),
/// lines (newlines, plus one for an unterminated last line) and code points.
fn count(text: &str) -> (usize, usize, usize) {
    let words = text.split(|c| matches!(c, ' ' | '\t' | '\n' | '\r')).filter(|w| !w.is_empty()).count();
    let mut lines = text.matches('\n').count();
    if !text.is_empty() && !text.ends_with('\n') {
        lines += 1;
    }
    (words, lines, text.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(""), (0, 0, 0));
        assert_eq!(count("a"), (1, 1, 1));
        assert_eq!(count("a\n"), (1, 1, 2));
        assert_eq!(count("a\nb"), (2, 2, 3));
        assert_eq!(count(" Zoë  \t x\r\n"), (2, 1, 11));
    }

    #[test]
    fn answers() {
        let p = plugin();
        let call = |req: &str| p.handle(req.as_bytes());
        assert_eq!(
            call(r#"{"method":"tools/call","params":{"name":"greet","arguments":{"name":"Zoë \"x\""}}}"#),
            r#"{"content":[{"type":"text","text":"Hello, Zoë \"x\"!"}]}"#
        );
        assert_eq!(
            call(r#"{"method":"tools/call","params":{"name":"stats","arguments":{"text":"a b\nc"}}}"#),
            r#"{"content":[{"type":"text","text":"{\"words\":3,\"lines\":2,\"chars\":5}"}],"structuredContent":{"words":3,"lines":2,"chars":5}}"#
        );
        assert_eq!(
            call(r#"{"method":"tools/call","params":{"name":"nope","arguments":{}}}"#),
            r#"{"error":{"code":-32602,"message":"unknown tool \"nope\""}}"#
        );
        assert_eq!(
            call(r#"{"method":"logging/setLevel","params":{}}"#),
            r#"{"error":{"code":-32601,"message":"method \"logging/setLevel\" is not supported by this plugin"}}"#
        );
    }
}
