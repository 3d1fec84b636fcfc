//! A tracing layer for the observability scenarios: closed spans (name, parent, fields) and
//! events (fields, `message` included), every value as text.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Field names and values, as text.
pub type Fields = BTreeMap<String, String>;

/// What the recording layer saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// Closed spans: (name, parent name, fields).
    pub spans: Vec<(String, Option<String>, Fields)>,
    /// Events: fields (with "message").
    pub events: Vec<Fields>,
}

impl Seen {
    /// The fields of every `circuit_breaker_call` span, in closing order.
    pub fn call_spans(&self) -> Vec<Fields> {
        self.spans
            .iter()
            .filter(|(name, ..)| name == "circuit_breaker_call")
            .map(|(_, _, f)| f.clone())
            .collect()
    }

    /// (name, parent name) of every other span, in closing order.
    pub fn child_spans(&self) -> Vec<(&str, Option<&str>)> {
        self.spans
            .iter()
            .filter(|(name, ..)| name != "circuit_breaker_call")
            .map(|(n, p, _)| (n.as_str(), p.as_deref()))
            .collect()
    }
}

/// The layer; clones share what they see.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Seen>>);

struct Text<'a>(&'a mut Fields);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Text(&mut fields));
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let mut ext = span.extensions_mut();
        values.record(&mut Text(ext.get_mut::<Fields>().unwrap()));
    }
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Text(&mut fields));
        self.0.lock().unwrap().events.push(fields);
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).unwrap();
        let fields = span.extensions().get::<Fields>().cloned().unwrap_or_default();
        let parent = span.parent().map(|p| p.name().to_owned());
        self.0
            .lock()
            .unwrap()
            .spans
            .push((span.name().to_owned(), parent, fields));
    }
}
