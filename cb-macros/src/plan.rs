//! Combines validated arguments with the function they annotate into a `Plan`, reporting what
//! cannot work for this function: the last step that can fail before expansion.

use crate::ctxt::Ctxt;
use crate::item::{Function, Receiver, Shape, contains_impl_trait, future_is_static};
use crate::signature::{HigherRanked, higher_ranked};
use crate::strategy::{CacheConfig, Stage};
use crate::validate::{Args, Setting};
use quote::{ToTokens, quote};
use syn::{Expr, Ident, Path, Type};

/// Where the breaker comes from.
pub(crate) enum Source {
    /// `name = "..."` (or a `&'static str` constant) on the function.
    Named(Expr),
    /// The `CircuitProtected` breaker of the type the function runs for (`Self`): through the
    /// receiver for a method (keyed types pick the instance's breaker), through the type for an
    /// associated function. The span is the one `Self` is written with: the `Self` of
    /// `name = Self`, so that using it outside an impl is an error there; else the attribute.
    Derived(Option<Receiver>, proc_macro2::Span),
}

/// How a fallback function is called.
pub(crate) struct FunctionStage {
    /// The function to call (`Self::f` for a method's single-identifier fallback).
    pub(crate) callee: proc_macro2::TokenStream,
    /// The user's path, for spans.
    pub(crate) path: Path,
    /// Whether the receiver is passed first.
    pub(crate) with_receiver: bool,
    /// The signature it must accept for every lifetime, where that can be checked.
    pub(crate) higher_ranked: Option<HigherRanked>,
}

/// One strategy of the fallback, ready to expand.
pub(crate) enum StagePlan {
    Function(Box<FunctionStage>),
    /// The last-good cache, with the span of `cache`.
    Cache(proc_macro2::Span),
    /// The empty response, with the span of `default`.
    Empty(proc_macro2::Span),
    Value(Expr),
}

/// The fallback: its strategies in order.
pub(crate) struct FallbackPlan {
    pub(crate) stages: Vec<StagePlan>,
    /// The stages as written (`Self::f`, `[cache,Self::f,default]`), for the log event.
    pub(crate) written: String,
    /// Whether it serves failures and timeouts too (not only rejections).
    pub(crate) on_failure: bool,
    /// The cache's settings when a stage is `cache`.
    pub(crate) cache: Option<CacheConfig>,
}

/// Everything expansion needs; expansion cannot fail.
pub(crate) struct Plan {
    /// Compile-time checks of constants the macro cannot read (statements of the prelude).
    pub(crate) const_checks: proc_macro2::TokenStream,
    pub(crate) krate: Path,
    pub(crate) source: Source,
    pub(crate) settings: Vec<Setting>,
    /// Where `max_open_timeout` is written, if it is (see `Args::max_open_timeout_span`).
    pub(crate) max_open_timeout_span: Option<proc_macro2::Span>,
    pub(crate) output: Type,
    pub(crate) fallback: Option<FallbackPlan>,
    pub(crate) timeout: Option<u64>,
    pub(crate) failure_if: Option<Path>,
    pub(crate) ignore_if: Option<Path>,
    pub(crate) receiver: Option<Receiver>,
    /// Each parameter after the receiver: its name (if a plain binding) and whether it is a
    /// reference (passed to the fallback as is) or owned (cloned for it).
    pub(crate) params: Vec<(Option<Ident>, bool)>,
    /// Whether each parameter is a `&mut` (reborrowed when a chain passes it more than once).
    pub(crate) mut_refs: Vec<bool>,
    /// The fallback's parameter types as the caller passes them (`_` where they cannot be
    /// named), so that a mismatch names them.
    pub(crate) arg_types: Vec<proc_macro2::TokenStream>,
    pub(crate) receiver_ty: Option<proc_macro2::TokenStream>,
    /// How the wrapped code names the receiver: `self`, or `__self` inside an
    /// `#[async_trait]` body, which moved `self` there.
    pub(crate) self_name: Ident,
    /// `queue = "..."`: rejected calls are queued and replayed.
    pub(crate) queue: Option<crate::queue::QueuePlan>,
    /// When the receiver is a `Pin<&mut Self>` that the fallback receives after the call, how
    /// the body names it (`self`, or `__self` under `#[async_trait]`): it is moved to
    /// `__cb_pinned` (then `self_name`) and the body reborrows it at each use instead of moving
    /// it, so the fallback gets it back (see `expand::body::reborrow_pinned`).
    pub(crate) pinned_self: Option<Ident>,
    /// Whether the receiver is `self: Pin<&mut Self>`: the fallback gets it moved or
    /// reborrowed, never cloned.
    pub(crate) pinned: bool,
}

/// Why the generated code cannot classify the return type (its errors would silently count
/// as successes), if it cannot: it is or projects from a type parameter (`T`, `T::Out`,
/// `<T as Tr>::Out`), or projects from `Self` (`Self::Output`, `<Self as Tr>::Out`), which a
/// trait's default method sees as a different type for each implementor.
fn unclassifiable(sig: &syn::Signature, ty: &Type) -> Option<String> {
    let Type::Path(p) = ty else { return None };
    let root = match &p.qself {
        Some(qself) => match &*qself.ty {
            Type::Path(q) if q.qself.is_none() => q.path.get_ident()?,
            _ => return None,
        },
        None if p.path.leading_colon.is_none() => &p.path.segments.first()?.ident,
        None => return None,
    };
    let projects = p.qself.is_some() || p.path.segments.len() > 1;
    let written = ty.to_token_stream().to_string();
    let written = written.replace(" :: ", "::").replace("< ", "<").replace(" >", ">");
    if root == "Self" && projects {
        return Some(format!(
            "`#[circuit_breaker]` cannot tell whether `{written}` is a `Result` (it can be a different type for each implementor), so it could not count its errors; spell the type: `Result<_, E>`, or in an impl the type the associated type stands for"
        ));
    }
    let param = sig.generics.type_params().find(|t| t.ident == *root)?;
    let subject = match projects {
        true => format!("`{written}`, which depends on the type parameter `{}`,", param.ident),
        false => format!("the type parameter `{}`", param.ident),
    };
    Some(format!(
        "`#[circuit_breaker]` cannot tell whether {subject} is a `Result`, so it could not count its errors; return `Result<_, E>` (or a concrete type)"
    ))
}

const IMPL_STREAM: &str = "`#[circuit_breaker]` cannot protect a stream: it would count opening the stream, never its items; protect every item instead with `Arc<CircuitBreaker>::protect_stream` (feature `stream`) inside the function; to protect opening it, return `Result<Pin<Box<dyn Stream<Item = ..> + Send>>, E>`";

/// Whether the type is `impl Stream<..>` (or `impl TryStream<..>`).
fn is_impl_stream(ty: &Type) -> bool {
    let Type::ImplTrait(opaque) = crate::item::ungroup(ty) else {
        return false;
    };
    opaque.bounds.iter().any(|bound| {
        matches!(bound, syn::TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| s.ident == "Stream" || s.ident == "TryStream"))
    })
}

/// Whether `name = Self`: the breaker of the type the function runs for.
fn is_self(name: &Expr) -> bool {
    matches!(name, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

/// Whether the tokens name `Self` anywhere.
fn names_self(tokens: proc_macro2::TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == "Self",
        proc_macro2::TokenTree::Group(g) => names_self(g.stream()),
        _ => false,
    })
}

/// The type with `_` for every `impl Trait` inside it.
fn inferred(mut ty: Type) -> Type {
    struct Infer;
    impl syn::visit_mut::VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(opaque) = ty {
                let span = syn::spanned::Spanned::span(&opaque.impl_token);
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    syn::visit_mut::VisitMut::visit_type_mut(&mut Infer, &mut ty);
    ty
}

/// A type as written, or `_` where it cannot be named in an expression (`impl Trait`).
fn nameable(ty: &Type) -> proc_macro2::TokenStream {
    if contains_impl_trait(ty) {
        quote!(_)
    } else {
        ty.to_token_stream()
    }
}

pub(crate) fn plan(func: &Function, args: Args, cx: &mut Ctxt) -> Plan {
    // A `name` that did not parse is reported already; do not report it missing.
    let args_failed = cx.has_errors();
    let sig = &func.item.sig;
    if let Some(constness) = &sig.constness {
        cx.error_spanned_by(constness, "`#[circuit_breaker]` cannot protect a `const fn`");
    }
    let output = func.output();
    if let Some(message) = unclassifiable(sig, &output) {
        cx.error_spanned_by(&output, message);
    } else if is_impl_stream(&output) {
        cx.error_spanned_by(&output, IMPL_STREAM);
    } else if matches!(crate::item::ungroup(&output), Type::ImplTrait(_)) {
        cx.error_spanned_by(
            &output,
            "`#[circuit_breaker]` cannot name an `impl Trait` return type; return a concrete type",
        );
    }
    // `Result<impl IntoResponse, E>`: the generated code names the type with `_` for each
    // `impl Trait` (inferred from the body); its outer type still decides the kind.
    let output = inferred(output);
    if let (Some((_, span)), false) = (args.timeout, func.is_async()) {
        cx.error_at(
            span,
            "`timeout` needs an async function: a sync call cannot be abandoned",
        );
    }
    if !func.is_async()
        && let Some(attr) = func.item.attrs.iter().find(|a| a.path().is_ident("track_caller"))
    {
        cx.error_spanned_by(
            attr,
            "`#[track_caller]` cannot pass through `#[circuit_breaker]` on a sync function: the protected body runs in a closure, and closures do not track their caller on stable Rust; remove `#[track_caller]` here; to use the caller's location in the body, take it as a parameter (`at: &'static std::panic::Location<'static>`) that an unprotected `#[track_caller]` wrapper fills with `Location::caller()` (`#[track_caller]` on a wrapper alone does not reach this body)",
        );
    }
    let source = match args.name {
        Some(name) if is_self(&name) => Source::Derived(func.receiver, syn::spanned::Spanned::span(&name)),
        Some(name) => Source::Named(name),
        None => {
            // A free function cannot name `Self` (E0411), and the macro cannot see whether it
            // is in an impl: only a signature that names `Self` proves it is.
            if func.receiver.is_none() && !args_failed && !names_self(sig.to_token_stream()) {
                cx.error_at(
                    proc_macro2::Span::call_site(),
                    "`#[circuit_breaker]` on a function without `self` needs `name = \"...\"` (a free function has no type to take its breaker from); in an impl of a `CircuitProtected` type, `name = Self` takes the type's breaker",
                );
            }
            Source::Derived(func.receiver, proc_macro2::Span::call_site())
        }
    };
    let krate: Path = args.krate.unwrap_or_else(|| syn::parse_quote!(::cb_runtime));
    let queue = args.queue.map(|name| {
        crate::queue::require_feature(&name, cx);
        crate::queue::plan(func, name, args.fallback.is_some(), cx)
    });
    let cache = args.cache;
    let fallback = args.fallback.map(|stages| {
        for param in func.params.iter().filter(|p| p.ident.is_none()) {
            cx.error_spanned_by(
                &param.pat,
                "the fallback receives every parameter: bind this one to a plain name",
            );
        }
        if stages.iter().any(|s| matches!(s, Stage::Cache(_))) {
            crate::cache_key::check(&func.params, cx);
        }
        let written = match stages.as_slice() {
            [one] => one.written(),
            many => format!("[{}]", many.iter().map(Stage::written).collect::<Vec<_>>().join(",")),
        };
        let stages = stages
            .into_iter()
            .map(|stage| match stage {
                Stage::Function(path) => StagePlan::Function(Box::new(function_stage(func, path, &krate, cx))),
                Stage::Cache(span) => StagePlan::Cache(span),
                Stage::Empty(span) => StagePlan::Empty(span),
                Stage::Value(expr) => StagePlan::Value(expr),
            })
            .collect();
        FallbackPlan {
            stages,
            written,
            on_failure: !args.rejected_only,
            cache,
        }
    });
    let pinned = fallback.as_ref().is_some_and(|fb| pinned_self(func, fb, &output, cx));
    if let Some(fb) = &fallback {
        returned_mut_borrow(func, fb, &output, cx);
    }
    Plan {
        const_checks: proc_macro2::TokenStream::new(),
        krate,
        source,
        settings: args.settings,
        max_open_timeout_span: args.max_open_timeout_span,
        output,
        fallback,
        timeout: args.timeout.map(|(nanos, _)| nanos),
        failure_if: args.failure_if,
        ignore_if: args.ignore_if,
        receiver: func.receiver,
        params: func.params.iter().map(|p| (p.ident.clone(), p.is_reference)).collect(),
        mut_refs: func
            .params
            .iter()
            .map(|p| matches!(crate::item::ungroup(&p.ty), Type::Reference(r) if r.mutability.is_some()))
            .collect(),
        arg_types: func.params.iter().map(|p| nameable(&p.ty)).collect(),
        receiver_ty: func.receiver_ty.as_ref().map(nameable),
        self_name: match pinned {
            true => Ident::new("__cb_pinned", proc_macro2::Span::mixed_site()),
            false => receiver_name(func),
        },
        queue,
        pinned_self: pinned.then(|| receiver_name(func)),
        pinned: func.pinned,
    }
}

/// How the wrapped code names the receiver: `self`, or `__self` inside an `#[async_trait]`
/// body, which moved `self` there.
fn receiver_name(func: &Function) -> Ident {
    match func.async_trait_self() {
        true => Ident::new("__self", proc_macro2::Span::call_site()),
        false => Ident::new("self", proc_macro2::Span::call_site()),
    }
}

/// Whether a `self: Pin<&mut Self>` receiver goes to the fallback after the call (a fallback
/// function that takes the receiver serves failures): the body then reborrows it rather than
/// moving it. A `Pin<&mut Self>` cannot be cloned like another owned receiver, and a result
/// that borrows it cannot be returned while the fallback may still need it: that is an error
/// on the receiver.
fn pinned_self(func: &Function, fb: &FallbackPlan, output: &Type, cx: &mut Ctxt) -> bool {
    let takes_receiver = fb
        .stages
        .iter()
        .any(|s| matches!(s, StagePlan::Function(f) if f.with_receiver));
    if !func.pinned || !takes_receiver || !fb.on_failure {
        return false;
    }
    let receiver = func
        .item
        .sig
        .inputs
        .iter()
        .find(|a| matches!(a, syn::FnArg::Receiver(_)));
    let wraps_body = matches!(
        func.shape,
        Shape::Sync | Shape::Async | Shape::AsyncTrait { built: None, .. }
    );
    if !wraps_body || (matches!(func.shape, Shape::AsyncTrait { .. }) && !func.async_trait_self()) {
        cx.error_spanned_by(
            receiver,
            "a method returning a future cannot give its `self: Pin<&mut Self>` to the fallback after a failed call (the future holds it): name the fallback `Type::f` (it then receives no receiver), narrow it with `fallback_on = \"rejected\"`, or write the method as an `async fn`",
        );
        return false;
    }
    if borrows_receiver(func, output) {
        cx.error_spanned_by(
            receiver,
            "this method's result borrows its `self: Pin<&mut Self>`, so the fallback cannot also receive `self` after a failed call: name the fallback `Type::f` (it then receives no receiver) or narrow it with `fallback_on = \"rejected\"`",
        );
        return false;
    }
    true
}

/// A `&mut self` or `&mut` parameter whose borrow the result carries cannot also go to a
/// fallback after the call (it stays borrowed by the returned value whichever way the call
/// went: rustc's borrow error, on the attribute, about closures and loops), nor to two stages
/// of a chain: one error on the receiver or parameter instead, saying what works.
fn returned_mut_borrow(func: &Function, fb: &FallbackPlan, output: &Type, cx: &mut Ctxt) {
    let functions = || {
        fb.stages.iter().filter_map(|s| match s {
            StagePlan::Function(f) => Some(f),
            _ => None,
        })
    };
    if func.receiver == Some(Receiver::RefMut) && borrows_receiver(func, output) {
        let receiving = functions().filter(|f| f.with_receiver).count();
        let receiver = func
            .item
            .sig
            .inputs
            .iter()
            .find(|a| matches!(a, syn::FnArg::Receiver(_)));
        if receiving > 0 && fb.on_failure {
            cx.error_spanned_by(
                receiver,
                "this method's result borrows its `&mut self`, so the fallback cannot also receive `self` after a failed call: name the fallback `Type::f` (it then receives no receiver) or narrow it with `fallback_on = \"rejected\"`",
            );
        } else if receiving > 1 {
            cx.error_spanned_by(
                receiver,
                "this method's result borrows its `&mut self`, so only one stage of the chain can receive `self`: name the others `Type::f` (they then receive no receiver)",
            );
        }
        return;
    }
    if func.receiver.is_some() {
        return;
    }
    let mut named = Vec::new();
    crate::signature::lifetimes_in(output.to_token_stream(), &mut named);
    let elides = named.iter().any(|n| n == "_") || elides_a_reference(output.to_token_stream());
    let borrowing: Vec<_> = func
        .params
        .iter()
        .filter(|p| crate::signature::borrows(&p.ty))
        .collect();
    let returned = borrowing.iter().find(|p| match crate::item::ungroup(&p.ty) {
        Type::Reference(r) if r.mutability.is_some() => match &r.lifetime {
            Some(l) => named.iter().any(|n| l.ident == n),
            None => elides && borrowing.len() == 1,
        },
        _ => false,
    });
    let Some(param) = returned else { return };
    let stages = functions().count();
    let (pat, ty) = (&param.pat, &param.ty);
    if stages > 0 && fb.on_failure {
        cx.error_spanned_by(
            quote::quote!(#pat: #ty),
            "this function's result borrows this `&mut` parameter, so the fallback cannot also receive it after a failed call: narrow the fallback with `fallback_on = \"rejected\"` (it then gets the parameter the call never used), or return an owned value",
        );
    } else if stages > 1 {
        cx.error_spanned_by(
            quote::quote!(#pat: #ty),
            "this function's result borrows this `&mut` parameter, so only one stage of the chain can receive it: keep one function stage (with `cache`, `default` or a value beside it)",
        );
    }
}

/// Whether the result may borrow the receiver: it names the receiver's lifetime, or elides one
/// (the elision rules then pick the receiver's).
fn borrows_receiver(func: &Function, output: &Type) -> bool {
    let named = match func.receiver_ty.as_ref().map(crate::item::ungroup) {
        Some(Type::Reference(r)) => r.lifetime.clone(),
        Some(Type::Path(p)) => p.path.segments.last().and_then(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|a| match a {
                syn::GenericArgument::Type(Type::Reference(r)) => r.lifetime.clone(),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    };
    let mut names = Vec::new();
    crate::signature::lifetimes_in(output.to_token_stream(), &mut names);
    let names_receiver = names
        .iter()
        .any(|n| n == "_" || named.as_ref().is_some_and(|l| l.ident == n));
    names_receiver || elides_a_reference(output.to_token_stream())
}

/// Whether the tokens hold a `&` not followed by a lifetime.
fn elides_a_reference(tokens: proc_macro2::TokenStream) -> bool {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            proc_macro2::TokenTree::Punct(p)
                if p.as_char() == '&'
                    && !matches!(tokens.peek(), Some(proc_macro2::TokenTree::Punct(q)) if q.as_char() == '\'') =>
            {
                return true;
            }
            proc_macro2::TokenTree::Group(g) if elides_a_reference(g.stream()) => return true,
            _ => {}
        }
    }
    false
}

/// How to call the fallback function `path` of `func`, checked for every lifetime the signature
/// leaves open, where that can be checked (a lone function and each stage of a chain alike).
fn function_stage(func: &Function, path: Path, krate: &Path, cx: &mut Ctxt) -> FunctionStage {
    let sig = &func.item.sig;
    let single = path.leading_colon.is_none() && path.segments.len() == 1;
    let starts_with_self = path.segments.first().is_some_and(|s| s.ident == "Self");
    let with_receiver = func.receiver.is_some() && (single || starts_with_self);
    let borrows_self = matches!(func.receiver, Some(Receiver::Ref | Receiver::RefMut)) || func.pinned;
    if with_receiver && borrows_self && !func.async_trait_self() && future_is_static(&sig.output) {
        cx.error_spanned_by(
            &path,
            "this fallback receives `self`, but the returned future is `'static` and cannot hold a borrow of `self`: name the fallback by its type path (`Type::f`, which receives no receiver) or drop `+ 'static`",
        );
    }
    let callee = if with_receiver && single {
        quote!(Self::#path)
    } else {
        path.to_token_stream()
    };
    FunctionStage {
        callee,
        path,
        with_receiver,
        higher_ranked: higher_ranked(func, with_receiver, krate),
    }
}
