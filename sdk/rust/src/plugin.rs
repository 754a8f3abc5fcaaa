//! The plugin's description and its tools, and the dispatch of moat_call
//! requests to them.

use crate::json::{self, write_string, Value};
use crate::resources::{self, Prompt, Resource, ResourceError, ResourceTemplate, CODE_RESOURCE_NOT_FOUND};

/// JSON-RPC error codes a plugin answers with (docs/ABI.md, "Calls").
pub const CODE_INVALID_PARAMS: i64 = -32602;
pub const CODE_METHOD_NOT_FOUND: i64 = -32601;
pub const CODE_INTERNAL_ERROR: i64 = -32603;

type Handler = Box<dyn Fn(&Call) -> Result<CallResult, String>>;

/// A plugin: what moat_describe says, and the tools moat_call runs. Build
/// one in the function passed to [`plugin!`](crate::plugin).
pub struct Plugin {
    name: String,
    version: String,
    description: String,
    capabilities: Capabilities,
    tools: Vec<Tool>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Prompt>,
}

impl Plugin {
    /// A plugin called `name`, without tools yet.
    pub fn new(name: &str) -> Plugin {
        assert!(!name.is_empty(), "moat: the plugin needs a name");
        Plugin {
            name: name.into(),
            version: String::new(),
            description: String::new(),
            capabilities: Capabilities::default(),
            tools: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
        }
    }

    pub fn version(mut self, v: &str) -> Plugin {
        self.version = v.into();
        self
    }

    /// One line on what the plugin does.
    pub fn description(mut self, d: &str) -> Plugin {
        self.description = d.into();
        self
    }

    /// What the plugin asks the operator to grant.
    pub fn capabilities(mut self, c: Capabilities) -> Plugin {
        self.capabilities = c;
        self
    }

    /// Adds a tool. It panics on a tool without a handler or with the name of
    /// one already added, so that the mistake shows when the host loads the
    /// plugin (as a trap in moat_describe) or in the author's tests.
    pub fn tool(mut self, t: Tool) -> Plugin {
        assert!(t.handler.is_some(), "moat: tool {:?} has no handler; end it with .text, .json or .raw", t.name);
        assert!(!self.tools.iter().any(|x| x.name == t.name), "moat: tool {:?} added twice", t.name);
        self.tools.push(t);
        self
    }

    /// Adds a resource. It panics on one without a handler or at a URI
    /// already added.
    pub fn resource(mut self, r: Resource) -> Plugin {
        assert!(r.has_handler(), "moat: resource {:?} has no handler; end it with .text, .blob or .raw", r.uri());
        assert!(!self.resources.iter().any(|x| x.uri() == r.uri()), "moat: resource {:?} added twice", r.uri());
        self.resources.push(r);
        self
    }

    /// Adds a resource template. A URI that no resource has goes to the
    /// first template, in the order added, that matches it. It panics on a
    /// template without a handler or added twice.
    pub fn resource_template(mut self, t: ResourceTemplate) -> Plugin {
        assert!(
            t.has_handler(),
            "moat: resource template {:?} has no handler; end it with .text, .blob or .raw",
            t.template()
        );
        assert!(
            !self.templates.iter().any(|x| x.template() == t.template()),
            "moat: resource template {:?} added twice",
            t.template()
        );
        self.templates.push(t);
        self
    }

    /// Adds a prompt. It panics on one without a handler or with the name of
    /// one already added.
    pub fn prompt(mut self, p: Prompt) -> Plugin {
        assert!(p.has_handler(), "moat: prompt {:?} has no handler; end it with .handler", p.name());
        assert!(!self.prompts.iter().any(|x| x.name() == p.name()), "moat: prompt {:?} added twice", p.name());
        self.prompts.push(p);
        self
    }

    /// The description as moat_describe returns it.
    pub fn describe(&self) -> String {
        let mut d = Value::object().set("name", self.name.as_str());
        if !self.version.is_empty() {
            d = d.set("version", self.version.as_str());
        }
        if !self.description.is_empty() {
            d = d.set("description", self.description.as_str());
        }
        d = d.set("tools", Value::Array(self.tools.iter().map(Tool::describe).collect()));
        if !self.resources.is_empty() {
            d = d.set("resources", Value::Array(self.resources.iter().map(Resource::describe).collect()));
        }
        if !self.templates.is_empty() {
            d = d.set(
                "resourceTemplates",
                Value::Array(self.templates.iter().map(ResourceTemplate::describe).collect()),
            );
        }
        if !self.prompts.is_empty() {
            d = d.set("prompts", Value::Array(self.prompts.iter().map(Prompt::describe).collect()));
        }
        let caps = self.capabilities.to_value();
        if caps != Value::object() {
            d = d.set("capabilities", caps);
        }
        d.to_json()
    }

    /// Answers one moat_call request with the response JSON: a result or a
    /// protocol error. The moat_call export calls it; a plugin's tests may
    /// call it too, natively.
    pub fn handle(&self, request: &[u8]) -> String {
        let req = match json::parse(request) {
            Ok(r) => r,
            Err(e) => return protocol_error(CODE_INVALID_PARAMS, &format!("malformed request: {}", e)),
        };
        let method = req.str("method").unwrap_or_default();
        // A method is served when something it reads was added; otherwise
        // it is unknown here, as it is to a plugin built before it.
        let params = req.get("params").cloned().unwrap_or(Value::Null);
        match method {
            "resources/read" if !self.resources.is_empty() || !self.templates.is_empty() => return self.read(&params),
            "prompts/get" if !self.prompts.is_empty() => return self.get_prompt(&params),
            "completion/complete" if !self.prompts.is_empty() || !self.templates.is_empty() => {
                return self.complete(&params)
            }
            _ => {}
        }
        if method != "tools/call" {
            let mut m = String::new();
            write_string(&mut m, method);
            return protocol_error(CODE_METHOD_NOT_FOUND, &format!("method {} is not supported by this plugin", m));
        }
        let name = match params.str("name") {
            Some(n) => n,
            None => {
                return protocol_error(CODE_INVALID_PARAMS, "malformed tools/call request: params.name is not a string")
            }
        };
        let tool = match self.tools.iter().find(|t| t.name == name) {
            Some(t) => t,
            None => {
                let mut q = String::new();
                write_string(&mut q, name);
                return protocol_error(CODE_INVALID_PARAMS, &format!("unknown tool {}", q));
            }
        };
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => Value::object(),
            Some(a) => a.clone(),
        };
        let call = Call { tool: name.to_string(), arguments, meta: params.get("_meta").cloned() };
        let handler = tool.handler.as_ref().expect("checked by Plugin::tool");
        match handler(&call) {
            Ok(r) => r.to_json(),
            Err(msg) => CallResult::error(&msg).to_json(),
        }
    }
}

impl Plugin {
    fn read(&self, params: &Value) -> String {
        let uri = match params.str("uri") {
            Some(u) => u,
            None => {
                return protocol_error(
                    CODE_INVALID_PARAMS,
                    "malformed resources/read request: params.uri is not a string",
                )
            }
        };
        let answer = if let Some(r) = self.resources.iter().find(|r| r.uri() == uri) {
            r.read(uri)
        } else {
            let found = self.templates.iter().find_map(|t| t.matches(uri).map(|vars| (t, vars)));
            match found {
                Some((t, vars)) => t.read(uri, &vars),
                None => Err(ResourceError::NotFound),
            }
        };
        match answer {
            Ok(json) => json,
            Err(ResourceError::NotFound) => {
                protocol_error(CODE_RESOURCE_NOT_FOUND, &format!("resource not found: {}", uri))
            }
            Err(ResourceError::Failed(msg)) => protocol_error(CODE_INTERNAL_ERROR, &msg),
        }
    }

    fn get_prompt(&self, params: &Value) -> String {
        let name = match params.str("name") {
            Some(n) => n,
            None => {
                return protocol_error(
                    CODE_INVALID_PARAMS,
                    "malformed prompts/get request: params.name is not a string",
                )
            }
        };
        let prompt = match self.prompts.iter().find(|p| p.name() == name) {
            Some(p) => p,
            None => return protocol_error(CODE_INVALID_PARAMS, &format!("unknown prompt {}", quote(name))),
        };
        let args = match params.get("arguments") {
            None | Some(Value::Null) => Value::object(),
            Some(Value::Object(members)) if members.iter().all(|(_, v)| v.as_str().is_some()) => {
                Value::Object(members.clone())
            }
            Some(_) => {
                return protocol_error(
                    CODE_INVALID_PARAMS,
                    "malformed prompts/get request: params.arguments must be an object of strings",
                )
            }
        };
        if let Some(arg) = prompt.missing(&args) {
            return protocol_error(
                CODE_INVALID_PARAMS,
                &format!("prompt {} needs the argument {}", quote(name), quote(arg)),
            );
        }
        match prompt.get(&args) {
            Ok(json) => json,
            Err(msg) => protocol_error(CODE_INTERNAL_ERROR, &msg),
        }
    }

    fn complete(&self, params: &Value) -> String {
        let (kind, arg, value) = match (
            params.get("ref").and_then(|r| r.str("type")),
            params.get("argument").and_then(|a| a.str("name")),
            params.get("argument").and_then(|a| a.str("value")),
        ) {
            (Some(k), Some(a), Some(v)) => (k, a, v),
            _ => {
                return protocol_error(
                    CODE_INVALID_PARAMS,
                    "malformed completion/complete request: params need ref.type, argument.name and argument.value",
                )
            }
        };
        let r = params.get("ref").expect("checked above");
        let context = params.get("context").and_then(|c| c.get("arguments")).cloned().unwrap_or_else(Value::object);
        let values = match kind {
            "ref/prompt" => match self.prompts.iter().find(|p| Some(p.name()) == r.str("name")) {
                Some(p) => resources::complete_with(&p.completers, arg, value, &context),
                None => Vec::new(),
            },
            "ref/resource" => match self.templates.iter().find(|t| Some(t.template()) == r.str("uri")) {
                Some(t) => resources::complete_with(&t.completers, arg, value, &context),
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        resources::completion(values)
    }
}

/// quote writes s as a JSON string, for messages that name something.
fn quote(s: &str) -> String {
    let mut q = String::new();
    write_string(&mut q, s);
    q
}

fn protocol_error(code: i64, message: &str) -> String {
    Value::object().set("error", Value::object().set("code", code).set("message", message)).to_json()
}

/// What a plugin asks for (docs/ABI.md, "The description"). The operator
/// grants; only what is both asked and granted works.
#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    /// Hosts for outbound HTTP.
    pub http_hosts: Vec<String>,
    /// Folders: (guest mount path, "ro" or "rw").
    pub fs: Vec<(String, String)>,
    pub kv: bool,
    /// Names of operator-set values.
    pub config: Vec<String>,
    pub sampling: bool,
    pub elicitation: bool,
}

impl Capabilities {
    fn to_value(&self) -> Value {
        let mut c = Value::object();
        if !self.http_hosts.is_empty() {
            c = c.set("http", Value::object().set("hosts", self.http_hosts.clone()));
        }
        if !self.fs.is_empty() {
            let fs =
                self.fs.iter().map(|(m, mode)| Value::object().set("mount", m.as_str()).set("mode", mode.as_str()));
            c = c.set("fs", Value::Array(fs.collect()));
        }
        if self.kv {
            c = c.set("kv", true);
        }
        if !self.config.is_empty() {
            c = c.set("config", self.config.clone());
        }
        if self.sampling {
            c = c.set("sampling", true);
        }
        if self.elicitation {
            c = c.set("elicitation", true);
        }
        c
    }
}

/// A tool: its MCP declaration and its handler. Start with [`Tool::new`],
/// add what it needs, and end with one of `text`, `json` or `raw`.
pub struct Tool {
    name: String,
    title: String,
    description: String,
    input_schema: Value,
    output_schema: Option<Value>,
    annotations: Vec<(&'static str, Value)>,
    handler: Option<Handler>,
}

impl Tool {
    /// A tool called `name` (1 to 128 of A-Z a-z 0-9 _ . -) whose input
    /// schema is `{"type":"object"}` until set. A bad name panics.
    pub fn new(name: &str) -> Tool {
        let ok = !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.');
        assert!(ok, "moat: tool name {:?} must be 1 to 128 letters, digits, '_', '-' or '.'", name);
        Tool {
            name: name.into(),
            title: String::new(),
            description: String::new(),
            input_schema: Value::object().set("type", "object"),
            output_schema: None,
            annotations: Vec::new(),
            handler: None,
        }
    }

    /// A human-readable name.
    pub fn title(mut self, t: &str) -> Tool {
        self.title = t.into();
        self
    }

    /// What the tool does, for the model.
    pub fn description(mut self, d: &str) -> Tool {
        self.description = d.into();
        self
    }

    /// The JSON Schema of the arguments, as JSON text. It must be an object
    /// with "type": "object"; anything else panics.
    pub fn input_schema(mut self, schema: &str) -> Tool {
        self.input_schema = object_schema(&self.name, "inputSchema", schema);
        self
    }

    /// The JSON Schema of structuredContent, under the same rule. A tool
    /// with one must return structuredContent that matches it.
    pub fn output_schema(mut self, schema: &str) -> Tool {
        self.output_schema = Some(object_schema(&self.name, "outputSchema", schema));
        self
    }

    /// Sets the MCP annotation `title`.
    pub fn annotation_title(self, t: &str) -> Tool {
        self.annotate("title", Value::from(t))
    }
    /// Hints that the tool changes nothing.
    pub fn read_only(self) -> Tool {
        self.annotate("readOnlyHint", Value::Bool(true))
    }
    /// Hints whether the tool's changes may destroy data (MCP's default: true).
    pub fn destructive(self, yes: bool) -> Tool {
        self.annotate("destructiveHint", Value::Bool(yes))
    }
    /// Hints that calling the tool twice does no more than once.
    pub fn idempotent(self) -> Tool {
        self.annotate("idempotentHint", Value::Bool(true))
    }
    /// Hints whether the tool reaches the world outside (MCP's default: true).
    pub fn open_world(self, yes: bool) -> Tool {
        self.annotate("openWorldHint", Value::Bool(yes))
    }

    fn annotate(mut self, key: &'static str, v: Value) -> Tool {
        self.annotations.retain(|(k, _)| *k != key);
        self.annotations.push((key, v));
        // MCP's order, whatever the order of the calls.
        const ORDER: [&str; 5] = ["title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];
        self.annotations.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k));
        self
    }

    /// Ends the tool with a handler that returns text, sent as one text
    /// block. An `Err` is a result with isError and the message as its text.
    pub fn text<F>(mut self, f: F) -> Tool
    where
        F: Fn(&Call) -> Result<String, String> + 'static,
    {
        self.handler = Some(Box::new(move |c| f(c).map(|s| CallResult::text(&s))));
        self
    }

    /// Ends the tool with a handler that returns JSON. An object is sent as
    /// structuredContent and, as MCP recommends, also as a text block holding
    /// the same JSON; any other value is sent as text only.
    pub fn json<F>(mut self, f: F) -> Tool
    where
        F: Fn(&Call) -> Result<Value, String> + 'static,
    {
        self.handler = Some(Box::new(move |c| {
            let v = f(c)?;
            let mut r = CallResult::text(&v.to_json());
            if v.is_object() {
                r.structured_content = Some(v);
            }
            Ok(r)
        }));
        self
    }

    /// Ends the tool with a handler that builds the whole result.
    pub fn raw<F>(mut self, f: F) -> Tool
    where
        F: Fn(&Call) -> Result<CallResult, String> + 'static,
    {
        self.handler = Some(Box::new(f));
        self
    }

    fn describe(&self) -> Value {
        let mut t = Value::object().set("name", self.name.as_str());
        if !self.title.is_empty() {
            t = t.set("title", self.title.as_str());
        }
        if !self.description.is_empty() {
            t = t.set("description", self.description.as_str());
        }
        t = t.set("inputSchema", self.input_schema.clone());
        if let Some(o) = &self.output_schema {
            t = t.set("outputSchema", o.clone());
        }
        if !self.annotations.is_empty() {
            let a = self.annotations.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            t = t.set("annotations", Value::Object(a));
        }
        t
    }
}

fn object_schema(tool: &str, which: &str, schema: &str) -> Value {
    let v = match json::parse(schema.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("moat: tool {:?}: {} is not JSON: {}", tool, which, e),
    };
    assert!(v.str("type") == Some("object"), "moat: tool {:?}: {} must have \"type\": \"object\"", tool, which);
    v
}

/// One tools/call request as a handler sees it.
#[derive(Clone, Debug)]
pub struct Call {
    /// The tool's own name.
    pub tool: String,
    /// The arguments, already checked by the host against the input schema;
    /// `{}` when the client sent none.
    pub arguments: Value,
    /// The request's `_meta`, if any (it holds `progressToken`).
    pub meta: Option<Value>,
}

impl Call {
    /// The string argument `name`; a missing or non-string one is an error
    /// a model can act on.
    pub fn string(&self, name: &str) -> Result<&str, String> {
        match self.arguments.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(format!("tool {:?}: argument {:?} must be a string", self.tool, name)),
            None => Err(format!("tool {:?} needs the string argument {:?}", self.tool, name)),
        }
    }

    /// The integer argument `name`, under the same rules.
    pub fn int(&self, name: &str) -> Result<i64, String> {
        match self.arguments.get(name) {
            Some(v) => {
                v.as_i64().ok_or_else(|| format!("tool {:?}: argument {:?} must be an integer", self.tool, name))
            }
            None => Err(format!("tool {:?} needs the integer argument {:?}", self.tool, name)),
        }
    }

    /// The argument `name`, of any type.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.arguments.get(name)
    }
}

/// An MCP content block.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    Text(String),
    /// Base64 data and its MIME type.
    Image {
        data: String,
        mime_type: String,
    },
    Audio {
        data: String,
        mime_type: String,
    },
    /// Any other block (resource_link, resource), as JSON.
    Other(Value),
}

impl Content {
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Content::Text(s) => Value::object().set("type", "text").set("text", s.as_str()),
            Content::Image { data, mime_type } => {
                Value::object().set("type", "image").set("data", data.as_str()).set("mimeType", mime_type.as_str())
            }
            Content::Audio { data, mime_type } => {
                Value::object().set("type", "audio").set("data", data.as_str()).set("mimeType", mime_type.as_str())
            }
            Content::Other(v) => v.clone(),
        }
    }
}

/// An MCP CallToolResult.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallResult {
    pub content: Vec<Content>,
    /// Required, as an object, when the tool declares an output schema.
    pub structured_content: Option<Value>,
    pub is_error: bool,
}

impl CallResult {
    /// A result of one text block.
    pub fn text(s: &str) -> CallResult {
        CallResult { content: vec![Content::Text(s.into())], ..Default::default() }
    }

    /// A failed result: one text block for the model, and isError.
    pub fn error(msg: &str) -> CallResult {
        CallResult { is_error: true, ..CallResult::text(msg) }
    }

    /// The result as JSON.
    pub fn to_json(&self) -> String {
        let mut r = Value::object().set("content", Value::Array(self.content.iter().map(Content::to_value).collect()));
        if let Some(s) = &self.structured_content {
            r = r.set("structuredContent", s.clone());
        }
        if self.is_error {
            r = r.set("isError", true);
        }
        r.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> Plugin {
        Plugin::new("t")
            .capabilities(Capabilities { kv: true, config: vec!["KEY".into()], ..Default::default() })
            .tool(Tool::new("fail").idempotent().read_only().text(|_| Err("no luck".into())))
            .tool(Tool::new("host").text(|_| Ok(crate::config_get("KEY")?)))
            .tool(Tool::new("list").json(|_| Ok(Value::from(vec![1i64, 2]))))
            .tool(Tool::new("echo").json(|c| Ok(c.arguments.clone())))
    }

    fn call(tool: &str, args: &str) -> String {
        let req = format!(r#"{{"method":"tools/call","params":{{"name":"{}","arguments":{}}}}}"#, tool, args);
        plugin().handle(req.as_bytes())
    }

    #[test]
    fn describes() {
        assert_eq!(
            plugin().describe(),
            r#"{"name":"t","tools":[{"name":"fail","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true,"idempotentHint":true}},{"name":"host","inputSchema":{"type":"object"}},{"name":"list","inputSchema":{"type":"object"}},{"name":"echo","inputSchema":{"type":"object"}}],"capabilities":{"kv":true,"config":["KEY"]}}"#
        );
    }

    #[test]
    fn answers() {
        let cases = [
            ("fail", "{}", r#"{"content":[{"type":"text","text":"no luck"}],"isError":true}"#),
            (
                "host",
                "{}",
                r#"{"content":[{"type":"text","text":"moat: EUNSUPPORTED: moat host functions exist only under WebAssembly"}],"isError":true}"#,
            ),
            ("list", "{}", r#"{"content":[{"type":"text","text":"[1,2]"}]}"#),
            ("echo", "null", r#"{"content":[{"type":"text","text":"{}"}],"structuredContent":{}}"#),
            (
                "echo",
                r#"{"a":"\u00e9"}"#,
                r#"{"content":[{"type":"text","text":"{\"a\":\"é\"}"}],"structuredContent":{"a":"é"}}"#,
            ),
            ("nope", "{}", r#"{"error":{"code":-32602,"message":"unknown tool \"nope\""}}"#),
        ];
        for (tool, args, want) in cases {
            assert_eq!(call(tool, args), want, "{} {}", tool, args);
        }
    }

    #[test]
    fn refuses_other_requests() {
        let p = plugin();
        let h = |r: &str| p.handle(r.as_bytes());
        assert_eq!(
            h("{"),
            r#"{"error":{"code":-32602,"message":"malformed request: invalid JSON at byte 1: expected a member name"}}"#
        );
        assert_eq!(
            h(r#"{"method":"resources/read","params":{}}"#),
            r#"{"error":{"code":-32601,"message":"method \"resources/read\" is not supported by this plugin"}}"#
        );
        assert_eq!(
            h(r#"{"method":"tools/call","params":{}}"#),
            r#"{"error":{"code":-32602,"message":"malformed tools/call request: params.name is not a string"}}"#
        );
    }

    #[test]
    #[should_panic(expected = "added twice")]
    fn refuses_duplicate_tools() {
        let _ = plugin().tool(Tool::new("fail").text(|_| Ok(String::new())));
    }

    #[test]
    #[should_panic(expected = "must have \"type\": \"object\"")]
    fn refuses_non_object_schemas() {
        let _ = Tool::new("x").input_schema(r#"{"type":"string"}"#);
    }
}
