//! Real clients drain a spool through the real daemon; what they got
//! must be the spool, each request once, each name in arrival order.

mod common;
use common::*;

fn drain_perl(style: &str, batch: &str) {
    if !have_soap_lite() {
        return;
    }
    let fx = spool_with(120);
    let d = Daemon::start(fx.root(), &[]);
    let script = clients_dir().join("drain.pl");
    let got = run_client(
        "perl",
        &[script.to_str().unwrap(), &d.url(), style, batch],
    );
    check_drained(&fx, &got);
}

#[test]
fn soap_lite_positional() {
    drain_perl("positional", "7");
}

#[test]
fn soap_lite_named() {
    drain_perl("named", "100");
}

#[test]
fn soap_lite_autotype0() {
    drain_perl("autotype0", "1");
}

#[test]
fn soap_lite_keep_alive() {
    drain_perl("keepalive", "10");
}

fn drain_python(lib: &str, batch: &str) {
    if !have_python(lib) {
        return;
    }
    let fx = spool_with(120);
    let d = Daemon::start(fx.root(), &[]);
    let script = clients_dir().join("drain.py");
    let got = run_client(
        "python3",
        &[script.to_str().unwrap(), &d.url(), lib, batch],
    );
    check_drained(&fx, &got);
}

#[test]
fn zeep_from_the_served_wsdl() {
    drain_python("zeep", "10");
}

#[test]
fn suds_from_the_served_wsdl() {
    drain_python("suds", "3");
}
