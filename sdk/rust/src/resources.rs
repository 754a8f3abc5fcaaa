//! Resources, resource templates and prompts, and the completion of their
//! arguments: what a plugin serves besides tools (docs/ABI.md, "Resources,
//! resource templates and prompts").

use crate::json::Value;
use crate::plugin::Content;

/// JSON-RPC code for a resource the plugin does not serve.
pub const CODE_RESOURCE_NOT_FOUND: i64 = -32002;

/// The most values one completion sends (MCP's limit).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// Why a resource handler gave no contents: the URI names nothing after all
/// (the client gets "resource not found", -32002), or the handler failed
/// (-32603, with the message). A `String` or `&str` converts to `Failed`,
/// so `?` works on handlers' own errors.
#[derive(Clone, Debug, PartialEq)]
pub enum ResourceError {
    NotFound,
    Failed(String),
}

impl From<String> for ResourceError {
    fn from(s: String) -> ResourceError {
        ResourceError::Failed(s)
    }
}

impl From<&str> for ResourceError {
    fn from(s: &str) -> ResourceError {
        ResourceError::Failed(s.to_string())
    }
}

/// The contents of one resource read: text, or base64 data.
#[derive(Clone, Debug, PartialEq)]
pub enum Contents {
    Text(String),
    Blob(String),
    /// A whole MCP contents object (`{"uri","mimeType","text" or "blob"}`),
    /// sent as it is.
    Other(Value),
}

type ReadHandler = Box<dyn Fn(&str, &Value) -> Result<Vec<Contents>, ResourceError>>;
type PromptHandler = Box<dyn Fn(&Value) -> Result<PromptResult, String>>;
type Completer = Box<dyn Fn(&str, &Value) -> Vec<String>>;

/// What resources and templates share: their MCP members and handler.
struct ResourceCore {
    name: String,
    title: String,
    description: String,
    mime_type: String,
    handler: Option<ReadHandler>,
}

impl ResourceCore {
    fn new(name: &str) -> ResourceCore {
        ResourceCore {
            name: name.into(),
            title: String::new(),
            description: String::new(),
            mime_type: String::new(),
            handler: None,
        }
    }

    fn describe(&self, key: &str, value: &str) -> Value {
        let mut d = Value::object().set(key, value).set("name", self.name.as_str());
        if !self.title.is_empty() {
            d = d.set("title", self.title.as_str());
        }
        if !self.description.is_empty() {
            d = d.set("description", self.description.as_str());
        }
        if !self.mime_type.is_empty() {
            d = d.set("mimeType", self.mime_type.as_str());
        }
        d
    }

    /// read runs the handler and writes the ReadResourceResult.
    pub(crate) fn read(&self, uri: &str, vars: &Value) -> Result<String, ResourceError> {
        let handler = self.handler.as_ref().expect("checked when added");
        let contents = handler(uri, vars)?;
        let items = contents.into_iter().map(|c| {
            let (member, s) = match c {
                Contents::Other(v) => return v,
                Contents::Text(s) => ("text", s),
                Contents::Blob(s) => ("blob", s),
            };
            let mut o = Value::object().set("uri", uri);
            if !self.mime_type.is_empty() {
                o = o.set("mimeType", self.mime_type.as_str());
            }
            o.set(member, s)
        });
        Ok(Value::object().set("contents", Value::Array(items.collect())).to_json())
    }
}

macro_rules! resource_builders {
    ($t:ident) => {
        impl $t {
            /// A human-readable name.
            pub fn title(mut self, t: &str) -> $t {
                self.core.title = t.into();
                self
            }
            /// What the resource holds, for people and models.
            pub fn description(mut self, d: &str) -> $t {
                self.core.description = d.into();
                self
            }
            /// The MIME type of the contents, which the SDK also puts on
            /// every text or blob the handler returns.
            pub fn mime_type(mut self, m: &str) -> $t {
                self.core.mime_type = m.into();
                self
            }
        }
    };
}

/// A resource at a fixed URI. Start with [`Resource::new`] and end with a
/// handler: `text`, `blob` or `raw`.
pub struct Resource {
    uri: String,
    core: ResourceCore,
}

resource_builders!(Resource);

impl Resource {
    /// A resource at `uri`, called `name`; both must not be empty.
    pub fn new(uri: &str, name: &str) -> Resource {
        assert!(!uri.is_empty() && !name.is_empty(), "moat: resource {:?} needs a URI and a name", uri);
        Resource { uri: uri.into(), core: ResourceCore::new(name) }
    }

    /// Ends with a handler that returns the resource's text, given its URI.
    pub fn text<F>(mut self, f: F) -> Resource
    where
        F: Fn(&str) -> Result<String, ResourceError> + 'static,
    {
        self.core.handler = Some(Box::new(move |uri, _| Ok(vec![Contents::Text(f(uri)?)])));
        self
    }

    /// Ends with a handler that returns the resource's bytes, in base64.
    pub fn blob<F>(mut self, f: F) -> Resource
    where
        F: Fn(&str) -> Result<String, ResourceError> + 'static,
    {
        self.core.handler = Some(Box::new(move |uri, _| Ok(vec![Contents::Blob(f(uri)?)])));
        self
    }

    /// Ends with a handler that returns any number of contents.
    pub fn raw<F>(mut self, f: F) -> Resource
    where
        F: Fn(&str) -> Result<Vec<Contents>, ResourceError> + 'static,
    {
        self.core.handler = Some(Box::new(move |uri, _| f(uri)));
        self
    }

    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    pub(crate) fn has_handler(&self) -> bool {
        self.core.handler.is_some()
    }

    pub(crate) fn describe(&self) -> Value {
        self.core.describe("uri", &self.uri)
    }

    pub(crate) fn read(&self, uri: &str) -> Result<String, ResourceError> {
        self.core.read(uri, &Value::object())
    }
}

/// A family of resources whose URIs match a level-1 URI template such as
/// `file:///notes/{name}.md` (docs/ABI.md says how a URI matches). Start
/// with [`ResourceTemplate::new`] and end with `text`, `blob` or `raw`,
/// whose handler gets the URI and the variables as an object of strings.
pub struct ResourceTemplate {
    template: String,
    literals: Vec<String>,
    vars: Vec<String>,
    core: ResourceCore,
    pub(crate) completers: Vec<(String, Completer)>,
}

resource_builders!(ResourceTemplate);

impl ResourceTemplate {
    /// A template called `name`. One that is not level 1 (an operator as in
    /// `{+x}`, a list `{a,b}`, two variables side by side) panics.
    pub fn new(uri_template: &str, name: &str) -> ResourceTemplate {
        assert!(!name.is_empty(), "moat: resource template {:?} needs a name", uri_template);
        let (literals, vars) = match parse_template(uri_template) {
            Ok(p) => p,
            Err(e) => panic!("moat: {}", e),
        };
        ResourceTemplate {
            template: uri_template.into(),
            literals,
            vars,
            core: ResourceCore::new(name),
            completers: Vec::new(),
        }
    }

    /// Suggests values for the variable `var` from what the user typed and
    /// the values of the others (an object of strings).
    pub fn complete<F>(mut self, var: &str, f: F) -> ResourceTemplate
    where
        F: Fn(&str, &Value) -> Vec<String> + 'static,
    {
        assert!(
            self.vars.iter().any(|v| v == var),
            "moat: resource template {:?} has no variable {:?}",
            self.template,
            var
        );
        self.completers.push((var.into(), Box::new(f)));
        self
    }

    /// Ends with a handler that returns the text of the resource at a URI.
    pub fn text<F>(mut self, f: F) -> ResourceTemplate
    where
        F: Fn(&str, &Value) -> Result<String, ResourceError> + 'static,
    {
        self.core.handler = Some(Box::new(move |uri, vars| Ok(vec![Contents::Text(f(uri, vars)?)])));
        self
    }

    /// Ends with a handler that returns the bytes of the resource, in base64.
    pub fn blob<F>(mut self, f: F) -> ResourceTemplate
    where
        F: Fn(&str, &Value) -> Result<String, ResourceError> + 'static,
    {
        self.core.handler = Some(Box::new(move |uri, vars| Ok(vec![Contents::Blob(f(uri, vars)?)])));
        self
    }

    /// Ends with a handler that returns any number of contents.
    pub fn raw<F>(mut self, f: F) -> ResourceTemplate
    where
        F: Fn(&str, &Value) -> Result<Vec<Contents>, ResourceError> + 'static,
    {
        self.core.handler = Some(Box::new(f));
        self
    }

    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    pub(crate) fn has_handler(&self) -> bool {
        self.core.handler.is_some()
    }

    pub(crate) fn describe(&self) -> Value {
        self.core.describe("uriTemplate", &self.template)
    }

    /// The variables' values if `uri` matches, as an object of strings.
    pub(crate) fn matches(&self, uri: &str) -> Option<Value> {
        let mut rest = uri.strip_prefix(self.literals[0].as_str())?;
        let mut vars = Value::object();
        for (i, name) in self.vars.iter().enumerate() {
            let next = &self.literals[i + 1];
            let (val, after) = if next.is_empty() {
                (rest, "")
            } else {
                let at = rest.find(next.as_str())?;
                (&rest[..at], &rest[at + next.len()..])
            };
            if val.is_empty() || val.contains('/') {
                return None;
            }
            vars = vars.set(name, val);
            rest = after;
        }
        if rest.is_empty() {
            Some(vars)
        } else {
            None
        }
    }

    pub(crate) fn read(&self, uri: &str, vars: &Value) -> Result<String, ResourceError> {
        self.core.read(uri, vars)
    }
}

/// Splits a level-1 template into its literals (one more than the
/// variables) and its variables.
fn parse_template(t: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let (mut literals, mut vars) = (Vec::new(), Vec::new());
    let mut rest = t;
    loop {
        let open = rest.find('{');
        if let Some(close) = rest.find('}') {
            if open.map_or(true, |o| close < o) {
                return Err(format!("URI template {:?} has a '}}' without its '{{'", t));
            }
        }
        let open = match open {
            Some(o) => o,
            None => {
                literals.push(rest.to_string());
                return Ok((literals, vars));
            }
        };
        if !vars.is_empty() && open == 0 {
            return Err(format!("URI template {:?} has two variables with nothing between them", t));
        }
        literals.push(rest[..open].to_string());
        let close = match rest[open..].find('}') {
            Some(c) => open + c,
            None => return Err(format!("URI template {:?} has a '{{' without its '}}'", t)),
        };
        let name = &rest[open + 1..close];
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && !name.ends_with('.')
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'%');
        if !ok {
            return Err(format!("URI template {:?}: {{{}}} is not a simple variable such as {{name}}", t, name));
        }
        vars.push(name.to_string());
        rest = &rest[close + 1..];
    }
}

/// One argument of a prompt.
pub struct PromptArgument {
    name: String,
    title: String,
    description: String,
    required: bool,
}

impl PromptArgument {
    /// An optional argument called `name`.
    pub fn new(name: &str) -> PromptArgument {
        assert!(!name.is_empty(), "moat: a prompt argument needs a name");
        PromptArgument { name: name.into(), title: String::new(), description: String::new(), required: false }
    }
    pub fn title(mut self, t: &str) -> PromptArgument {
        self.title = t.into();
        self
    }
    pub fn description(mut self, d: &str) -> PromptArgument {
        self.description = d.into();
        self
    }
    /// Makes the argument required: a prompts/get without it is refused
    /// before the handler runs.
    pub fn required(mut self) -> PromptArgument {
        self.required = true;
        self
    }

    fn describe(&self) -> Value {
        let mut a = Value::object().set("name", self.name.as_str());
        if !self.title.is_empty() {
            a = a.set("title", self.title.as_str());
        }
        if !self.description.is_empty() {
            a = a.set("description", self.description.as_str());
        }
        if self.required {
            a = a.set("required", true);
        }
        a
    }
}

/// A prompt, under the plugin's own name (the host adds its prefix). Start
/// with [`Prompt::new`], add arguments, and end with [`Prompt::handler`],
/// which gets the arguments as an object of strings.
pub struct Prompt {
    name: String,
    title: String,
    description: String,
    arguments: Vec<PromptArgument>,
    handler: Option<PromptHandler>,
    pub(crate) completers: Vec<(String, Completer)>,
}

impl Prompt {
    /// A prompt called `name` (1 to 128 of A-Z a-z 0-9 _ . -).
    pub fn new(name: &str) -> Prompt {
        let ok = !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.');
        assert!(ok, "moat: prompt name {:?} must be 1 to 128 letters, digits, '_', '-' or '.'", name);
        Prompt {
            name: name.into(),
            title: String::new(),
            description: String::new(),
            arguments: Vec::new(),
            handler: None,
            completers: Vec::new(),
        }
    }
    pub fn title(mut self, t: &str) -> Prompt {
        self.title = t.into();
        self
    }
    pub fn description(mut self, d: &str) -> Prompt {
        self.description = d.into();
        self
    }
    /// Declares an argument.
    pub fn argument(mut self, a: PromptArgument) -> Prompt {
        assert!(
            !self.arguments.iter().any(|x| x.name == a.name),
            "moat: prompt {:?}: argument {:?} added twice",
            self.name,
            a.name
        );
        self.arguments.push(a);
        self
    }

    /// Suggests values for the argument `arg`, declared before, from what
    /// the user typed and the values of the others (an object of strings).
    pub fn complete<F>(mut self, arg: &str, f: F) -> Prompt
    where
        F: Fn(&str, &Value) -> Vec<String> + 'static,
    {
        assert!(self.arguments.iter().any(|a| a.name == arg), "moat: prompt {:?} has no argument {:?}", self.name, arg);
        self.completers.push((arg.into(), Box::new(f)));
        self
    }

    /// Ends with the handler. An `Err` answers an internal error (-32603)
    /// with the message.
    pub fn handler<F>(mut self, f: F) -> Prompt
    where
        F: Fn(&Value) -> Result<PromptResult, String> + 'static,
    {
        self.handler = Some(Box::new(f));
        self
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn has_handler(&self) -> bool {
        self.handler.is_some()
    }

    pub(crate) fn describe(&self) -> Value {
        let mut p = Value::object().set("name", self.name.as_str());
        if !self.title.is_empty() {
            p = p.set("title", self.title.as_str());
        }
        if !self.description.is_empty() {
            p = p.set("description", self.description.as_str());
        }
        if !self.arguments.is_empty() {
            p = p.set("arguments", Value::Array(self.arguments.iter().map(PromptArgument::describe).collect()));
        }
        p
    }

    /// The first required argument that args lacks.
    pub(crate) fn missing(&self, args: &Value) -> Option<&str> {
        self.arguments.iter().find(|a| a.required && args.get(&a.name).is_none()).map(|a| a.name.as_str())
    }

    pub(crate) fn get(&self, args: &Value) -> Result<String, String> {
        let handler = self.handler.as_ref().expect("checked when added");
        Ok(handler(args)?.to_json())
    }
}

/// One message of a prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptMessage {
    /// "user" or "assistant".
    pub role: String,
    pub content: Content,
}

impl PromptMessage {
    /// A message from the user with one text block.
    pub fn user(text: &str) -> PromptMessage {
        PromptMessage { role: "user".into(), content: Content::Text(text.into()) }
    }
    /// A message from the assistant with one text block.
    pub fn assistant(text: &str) -> PromptMessage {
        PromptMessage { role: "assistant".into(), content: Content::Text(text.into()) }
    }
}

/// What a prompt handler returns: an MCP GetPromptResult.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromptResult {
    /// Optional; left out when empty.
    pub description: String,
    pub messages: Vec<PromptMessage>,
}

impl PromptResult {
    /// A result of one user message with one text block.
    pub fn user(text: &str) -> PromptResult {
        PromptResult { description: String::new(), messages: vec![PromptMessage::user(text)] }
    }

    /// The result as JSON.
    pub fn to_json(&self) -> String {
        let mut r = Value::object();
        if !self.description.is_empty() {
            r = r.set("description", self.description.as_str());
        }
        let messages = self
            .messages
            .iter()
            .map(|m| Value::object().set("role", m.role.as_str()).set("content", m.content.to_value()));
        r.set("messages", Value::Array(messages.collect())).to_json()
    }
}

/// Writes a CompleteResult from what a completer returned.
pub(crate) fn completion(mut values: Vec<String>) -> String {
    let total = values.len();
    values.truncate(MAX_COMPLETION_VALUES);
    let mut c = Value::object().set("values", values);
    if total > MAX_COMPLETION_VALUES {
        c = c.set("total", total).set("hasMore", true);
    }
    Value::object().set("completion", c).to_json()
}

/// Runs the completer registered under `arg`, if any.
pub(crate) fn complete_with(
    completers: &[(String, Completer)],
    arg: &str,
    value: &str,
    context: &Value,
) -> Vec<String> {
    completers.iter().find(|(a, _)| a == arg).map(|(_, f)| f(value, context)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Plugin, Tool};

    fn people(value: &str, _: &Value) -> Vec<String> {
        ["Ada", "Alan", "Grace", "Linus"].iter().filter(|n| n.starts_with(value)).map(|n| n.to_string()).collect()
    }

    fn plugin() -> Plugin {
        Plugin::new("t")
            .tool(Tool::new("noop").text(|_| Ok(String::new())))
            .resource(
                Resource::new("hello://greeting", "greeting")
                    .description("A greeting.")
                    .mime_type("text/plain")
                    .text(|_| Ok("Hello from moat! <&>".into())),
            )
            .resource(Resource::new("bin://x", "bin").blob(|_| Ok("AAEC".into())))
            .resource_template(
                ResourceTemplate::new("hello://greeting/{name}", "personal")
                    .mime_type("text/plain")
                    .complete("name", |v, ctx| vec![format!("{}{}", v, ctx.str("suffix").unwrap_or(""))])
                    .text(|_, vars| match vars.str("name") {
                        Some("missing") => Err(ResourceError::NotFound),
                        Some("broken") => Err("the store is down".into()),
                        Some(n) => Ok(format!("Hello, {}!", n)),
                        None => Err("no name".into()),
                    }),
            )
            .resource_template(ResourceTemplate::new("file:///{dir}/{name}.md", "note").raw(|_, vars| {
                Ok(vec![Contents::Other(Value::object().set("uri", "file:///canonical").set("text", vars.to_json()))])
            }))
            .prompt(
                Prompt::new("greet_prompt")
                    .description("Greets.")
                    .argument(PromptArgument::new("name").description("Who.").required())
                    .argument(PromptArgument::new("tone"))
                    .complete("name", people)
                    .complete("tone", |_, _| (0..150).map(|i| i.to_string()).collect())
                    .handler(|args| {
                        let mut r =
                            PromptResult::user(&format!("Please greet {} warmly.", args.str("name").unwrap_or("")));
                        if let Some(t) = args.str("tone") {
                            r.messages.push(PromptMessage::assistant(&format!("In a {} tone.", t)));
                            r.description = "With a tone".into();
                        }
                        Ok(r)
                    }),
            )
            .prompt(Prompt::new("failing").handler(|_| Err("cannot build it".into())))
    }

    #[test]
    fn describes_resources_and_prompts() {
        let d = plugin().describe();
        let want = concat!(
            r#"{"name":"t","tools":[{"name":"noop","inputSchema":{"type":"object"}}],"#,
            r#""resources":[{"uri":"hello://greeting","name":"greeting","description":"A greeting.","mimeType":"text/plain"},{"uri":"bin://x","name":"bin"}],"#,
            r#""resourceTemplates":[{"uriTemplate":"hello://greeting/{name}","name":"personal","mimeType":"text/plain"},{"uriTemplate":"file:///{dir}/{name}.md","name":"note"}],"#,
            r#""prompts":[{"name":"greet_prompt","description":"Greets.","arguments":[{"name":"name","description":"Who.","required":true},{"name":"tone"}]},{"name":"failing"}]}"#
        );
        assert_eq!(d, want);
    }

    #[test]
    fn answers() {
        let p = plugin();
        let hundred: Vec<String> = (0..100).map(|i| format!("\"{}\"", i)).collect();
        let over = format!(r#"{{"completion":{{"values":[{}],"total":150,"hasMore":true}}}}"#, hundred.join(","));
        let cases = [
            (
                r#"{"method":"resources/read","params":{"uri":"hello://greeting"}}"#,
                r#"{"contents":[{"uri":"hello://greeting","mimeType":"text/plain","text":"Hello from moat! <&>"}]}"#,
            ),
            (
                r#"{"method":"resources/read","params":{"uri":"bin://x"}}"#,
                r#"{"contents":[{"uri":"bin://x","blob":"AAEC"}]}"#,
            ),
            (
                r#"{"method":"resources/read","params":{"uri":"hello://greeting/Zo\u00eb"}}"#,
                r#"{"contents":[{"uri":"hello://greeting/Zoë","mimeType":"text/plain","text":"Hello, Zoë!"}]}"#,
            ),
            (
                r#"{"method":"resources/read","params":{"uri":"file:///notes/todo.md"}}"#,
                r#"{"contents":[{"uri":"file:///canonical","text":"{\"dir\":\"notes\",\"name\":\"todo\"}"}]}"#,
            ),
            (
                r#"{"method":"resources/read","params":{"uri":"hello://greeting/missing"}}"#,
                r#"{"error":{"code":-32002,"message":"resource not found: hello://greeting/missing"}}"#,
            ),
            (
                r#"{"method":"resources/read","params":{"uri":"hello://greeting/broken"}}"#,
                r#"{"error":{"code":-32603,"message":"the store is down"}}"#,
            ),
            (
                r#"{"method":"resources/read","params":{"uri":"hello://greeting/a/b"}}"#,
                r#"{"error":{"code":-32002,"message":"resource not found: hello://greeting/a/b"}}"#,
            ),
            (
                r#"{"method":"resources/read","params":{}}"#,
                r#"{"error":{"code":-32602,"message":"malformed resources/read request: params.uri is not a string"}}"#,
            ),
            (
                r#"{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"name":"Ada"}}}"#,
                r#"{"messages":[{"role":"user","content":{"type":"text","text":"Please greet Ada warmly."}}]}"#,
            ),
            (
                r#"{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"tone":"dry","name":"Alan"}}}"#,
                r#"{"description":"With a tone","messages":[{"role":"user","content":{"type":"text","text":"Please greet Alan warmly."}},{"role":"assistant","content":{"type":"text","text":"In a dry tone."}}]}"#,
            ),
            (
                r#"{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"tone":"dry"}}}"#,
                r#"{"error":{"code":-32602,"message":"prompt \"greet_prompt\" needs the argument \"name\""}}"#,
            ),
            (
                r#"{"method":"prompts/get","params":{"name":"greet_prompt"}}"#,
                r#"{"error":{"code":-32602,"message":"prompt \"greet_prompt\" needs the argument \"name\""}}"#,
            ),
            (
                r#"{"method":"prompts/get","params":{"name":"greet_prompt","arguments":{"name":1}}}"#,
                r#"{"error":{"code":-32602,"message":"malformed prompts/get request: params.arguments must be an object of strings"}}"#,
            ),
            (
                r#"{"method":"prompts/get","params":{"name":"nope"}}"#,
                r#"{"error":{"code":-32602,"message":"unknown prompt \"nope\""}}"#,
            ),
            (
                r#"{"method":"prompts/get","params":{"name":"failing"}}"#,
                r#"{"error":{"code":-32603,"message":"cannot build it"}}"#,
            ),
            (
                r#"{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet_prompt"},"argument":{"name":"name","value":"A"}}}"#,
                r#"{"completion":{"values":["Ada","Alan"]}}"#,
            ),
            (
                r#"{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet_prompt"},"argument":{"name":"name","value":"Z"}}}"#,
                r#"{"completion":{"values":[]}}"#,
            ),
            (
                r#"{"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"hello://greeting/{name}"},"argument":{"name":"name","value":"Gr"},"context":{"arguments":{"suffix":"ace"}}}}"#,
                r#"{"completion":{"values":["Grace"]}}"#,
            ),
            (
                r#"{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"failing"},"argument":{"name":"x","value":""}}}"#,
                r#"{"completion":{"values":[]}}"#,
            ),
            (
                r#"{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet_prompt"},"argument":{"name":"tone","value":""}}}"#,
                over.as_str(),
            ),
        ];
        for (req, want) in cases {
            assert_eq!(p.handle(req.as_bytes()), want, "{}", req);
        }
    }

    #[test]
    fn methods_without_registrations_are_unknown() {
        let p = Plugin::new("t").tool(Tool::new("noop").text(|_| Ok(String::new())));
        for m in ["resources/read", "prompts/get", "completion/complete"] {
            let got = p.handle(format!(r#"{{"method":"{}","params":{{}}}}"#, m).as_bytes());
            assert_eq!(
                got,
                format!(
                    r#"{{"error":{{"code":-32601,"message":"method \"{}\" is not supported by this plugin"}}}}"#,
                    m
                )
            );
        }
    }

    #[test]
    fn refuses_templates_it_cannot_match() {
        for t in ["a://{+x}", "a://{x,y}", "a://{x}{y}", "a://{x", "a://x}", "a://{}"] {
            assert!(parse_template(t).is_err(), "{}", t);
        }
        assert_eq!(parse_template("a://{x}/{y.z}").unwrap().1, vec!["x".to_string(), "y.z".to_string()]);
    }

    #[test]
    #[should_panic(expected = "has no argument")]
    fn refuses_completion_of_an_undeclared_argument() {
        let _ = Prompt::new("p").complete("x", people);
    }

    #[test]
    #[should_panic(expected = "added twice")]
    fn refuses_duplicate_resources() {
        let _ = plugin().resource(Resource::new("bin://x", "again").text(|_| Ok(String::new())));
    }

    #[test]
    fn notify_outside_a_host_is_unsupported() {
        let e = crate::notify_resource_updated("hello://greeting").unwrap_err();
        assert_eq!(e.code, crate::Errno::EUNSUPPORTED);
    }
}
