#!/usr/bin/perl
# suzanne-registry.pl - play the registration system against suzanne-soapd
#
# A registry's registration system, written as a Perl shop writes one with
# SOAP::Lite: lease the next requests (GetRequests), decide each one first
# come, first served, and report the outcome (CompleteRequest), until the
# queue has stayed empty for a while. Used to rehearse a landrush end to
# end and in tests. Run with --help for the options.
#
# The decision rule: a request is accepted if none of its domain names
# (A-labels) has been registered yet in this run, and then registers them
# all; otherwise it is rejected. Every request's raw message must hash to
# its published SHA-256, or the run stops: the registry never decides on a
# request whose bytes it cannot trust.
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Getopt::Long qw(GetOptionsFromArray :config no_ignore_case bundling);
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use Scalar::Util qw(reftype);
use SOAP::Lite;
use Time::HiRes qw(CLOCK_MONOTONIC clock_gettime sleep);

my $ME = 'suzanne-registry';
my $NS = 'urn:Suzanne';
my $JSON = JSON::PP->new->utf8->canonical;

# sysexits
my $EX_USAGE       = 64;
my $EX_DATAERR     = 65;
my $EX_UNAVAILABLE = 69;
my $EX_CANTCREAT   = 73;
my $EX_TEMPFAIL    = 75;
my $EX_PROTOCOL    = 76;
my $EX_NOPERM      = 77;

# xsd types of the parameters, for --style typed; anything else is a string
my %XSD = (max => 'int', leaseSeconds => 'int', id => 'long',
           seconds => 'int');

my $USAGE = <<"EOT";
usage: $ME [options]

Leases requests from suzanne-soapd over SOAP and completes each one as a
registration system would: first come, first served.

  --url URL          SOAP endpoint (default http://127.0.0.1:8780/soap)
  --batch N          GetRequests max, 1..1000 (default 10)
  --lease S          GetRequests leaseSeconds (default 300)
  --style STYLE      how SOAP::Lite builds the calls (default: default)
        default  SOAP::Lite's own rpc style: positional parameters
                 (c-gensymN), every value autotyped
        named    SOAP::Data->name(k => v), autotyped
        typed    SOAP::Data with explicit xsd types (int, long, string)
        doc      autotype(0) with default_ns: untyped, namespace-qualified
                 children; values XML-escaped here, as SOAP::Lite does not
  --keep-alive       reuse one HTTP connection for all calls
  --auth-file FILE   HTTP Basic credentials, a "user:password" line (the
                     format of suzanne-soapd's auth_file)
  --hold-domain RE   HoldRequest instead of deciding requests that name a
                     domain (Unicode or A-label) matching the Perl regex RE
  --idle-exit SECS   exit once the queue has been empty this long (default 2)
  --max N            handle at most N requests, then exit
  --out FILE         one JSON line per request handled: id, outcome,
                     domains, domainsAscii, arrival, sha256, leaseToken
  --delay-ms N       wait N ms on each request, as a slow system does
  --deadline SECS    give up after SECS in all (default 3600; exit 75)
  --timeout SECS     HTTP timeout of one call (default 60)
  --verbose          a summary line on stderr at the end
  --help             this text

Exit: 0 done; 64 usage; 65 a request's raw bytes do not match its sha256,
or an answer lacks a field; 69 the server cannot be reached; 73 --out
cannot be written; 75 deadline reached; 76 a SOAP fault or an answer that
is not the contract's; 77 the credentials were refused.
EOT

main(@ARGV);

sub main {
    my $opt = options(@_);
    my $soap = client($opt);
    my $out = open_out($opt->{out});
    my $run = {registered => {}, handled => 0,
               count => {accepted => 0, rejected => 0, held => 0}};

    serve($soap, $opt, $out, $run);

    if ($out) {
        close $out or fail($EX_CANTCREAT, "close '$opt->{out}': $!");
    }
    if ($opt->{verbose}) {
        my $c = $run->{count};
        printf STDERR "%s: handled=%d accepted=%d rejected=%d held=%d\n",
            $ME, $run->{handled}, @{$c}{qw(accepted rejected held)};
    }
    exit 0;
}

sub options {
    my @argv = @_;
    my %o = (url => 'http://127.0.0.1:8780/soap', batch => 10,
             lease => 300, style => 'default', 'idle-exit' => 2,
             'delay-ms' => 0, deadline => 3600, timeout => 60);
    GetOptionsFromArray(\@argv, \%o, 'url=s', 'batch=i', 'lease=i',
        'style=s', 'keep-alive', 'auth-file=s', 'hold-domain=s',
        'idle-exit=f', 'max=i', 'out=s', 'delay-ms=i', 'deadline=f',
        'timeout=i', 'verbose', 'help|h')
        or usage();
    if ($o{help}) { print $USAGE; exit 0 }
    usage("unexpected argument '$argv[0]'") if @argv;
    usage("--batch must be 1..1000") if $o{batch} < 1 || $o{batch} > 1000;
    usage("--lease must be positive") if $o{lease} < 1;
    usage("--max must be positive") if defined $o{max} && $o{max} < 1;
    usage("--idle-exit must be 0 or more") if $o{'idle-exit'} < 0;
    usage("--delay-ms must be 0 or more") if $o{'delay-ms'} < 0;
    usage("--style must be default, named, doc or typed")
        unless $o{style} =~ /^(?:default|named|doc|typed)$/;
    if (defined $o{'hold-domain'}) {
        my $re = eval { qr/$o{'hold-domain'}/ }
            or usage("--hold-domain '$o{'hold-domain'}': not a regex");
        $o{hold_re} = $re;
    }
    return \%o;
}

sub usage {
    my ($why) = @_;
    print STDERR "$ME: $why\n" if $why;
    print STDERR $USAGE;
    exit $EX_USAGE;
}

sub fail {
    my ($code, $msg) = @_;
    $msg =~ s/\s+/ /g;
    $msg =~ s/ $//;
    $msg = substr($msg, 0, 400) . '...' if length $msg > 400;
    binmode STDERR, ':encoding(UTF-8)';
    print STDERR "$ME: $msg\n";
    exit $code;
}

sub client {
    my ($opt) = @_;

    # LWP would send a loopback call to a proxy named in the environment.
    if ($opt->{url} =~ m{^https?://(?:127\.0\.0\.1|localhost|\[::1\])[:/]}) {
        delete @ENV{qw(HTTP_proxy http_proxy HTTPS_proxy https_proxy
                       ALL_PROXY all_proxy)};
    }
    my @proxy = (timeout => $opt->{timeout});
    push @proxy, keep_alive => 1 if $opt->{'keep-alive'};
    my $soap = SOAP::Lite->uri($NS)->proxy($opt->{url}, @proxy);
    credentials($opt->{'auth-file'}) if defined $opt->{'auth-file'};

    if ($opt->{style} eq 'doc') {
        # The document/literal recipe of SOAP::Lite's documentation.
        $soap->autotype(0);
        $soap->default_ns($NS);
        $soap->on_action(sub { qq("$NS#$_[1]") });
    }
    return $soap;
}

# credentials: SOAP::Lite's own recipe. LWP asks for them on the first
# 401 and then sends them before being asked, on every later call.
sub credentials {
    my ($path) = @_;
    open(my $in, '<', $path) or fail($EX_USAGE, "open '$path': $!");
    my $line = <$in> // '';
    close $in;
    chomp $line;
    my ($user, $password) = $line =~ /^([^:]+):(.*)$/
        or fail($EX_USAGE, "read '$path': not a user:password line");
    no warnings qw(once redefine);
    *SOAP::Transport::HTTP::Client::get_basic_credentials =
        sub { return ($user, $password) };
}

sub open_out {
    my ($path) = @_;
    return undef unless defined $path;
    open(my $fh, '>:raw', $path) or fail($EX_CANTCREAT, "open '$path': $!");
    $fh->autoflush(1);
    return $fh;
}

sub now { clock_gettime(CLOCK_MONOTONIC) }

# serve: lease and decide until the queue stays empty for --idle-exit
# seconds, --max requests are handled, or the deadline passes.
sub serve {
    my ($soap, $opt, $out, $run) = @_;
    my $start = now();
    my $idle_since = $start;

    while (!defined $opt->{max} || $run->{handled} < $opt->{max}) {
        fail($EX_TEMPFAIL, "serve '$opt->{url}': deadline of"
            . " $opt->{deadline} s reached")
            if now() - $start > $opt->{deadline};

        my $want = $opt->{batch};
        if (defined $opt->{max} && $opt->{max} - $run->{handled} < $want) {
            $want = $opt->{max} - $run->{handled};
        }
        my @requests = get_requests($soap, $opt, $want);
        if (!@requests) {
            my $idle = now() - $idle_since;
            last if $idle >= $opt->{'idle-exit'};
            sleep(min(0.1, $opt->{'idle-exit'} - $idle));
            next;
        }
        for my $r (@requests) {
            handle($soap, $opt, $out, $run, $r);
        }
        $idle_since = now();
    }
}

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

sub get_requests {
    my ($soap, $opt, $max) = @_;
    my $som = call($soap, $opt, 'GetRequests',
                   [max => $max], [leaseSeconds => $opt->{lease}]);
    my $result = $som->result;

    # rpc/encoded (the contract's answer to SOAP::Lite): an array
    return @$result if ref $result && reftype($result) eq 'ARRAY';

    # document/literal: repeated <request> elements, or none at all
    my @requests = $som->valueof('//GetRequestsResponse/request');
    return @requests if @requests;
    return () if !defined $result || $result eq '';
    fail($EX_PROTOCOL, "call 'GetRequests': answer is neither an array"
        . " nor a list of requests");
}

sub handle {
    my ($soap, $opt, $out, $run, $r) = @_;
    fail($EX_PROTOCOL, "call 'GetRequests': a request is not a structure")
        unless ref $r && reftype($r) eq 'HASH';
    my $id = field($r, 'id');
    my $token = field($r, 'leaseToken');
    verify_raw($r, $id);
    my @ascii = names($r->{domainsAscii});
    my @unicode = names($r->{domains});

    sleep($opt->{'delay-ms'} / 1000) if $opt->{'delay-ms'};

    my $outcome;
    if ($opt->{hold_re} && grep { $_ =~ $opt->{hold_re} } @unicode, @ascii) {
        $outcome = 'held';
        answer($soap, $opt, 'HoldRequest', $id, 'held',
               [id => $id], [leaseToken => $token],
               [reason => 'held by the registry for review']);
    } else {
        $outcome = decide($run, @ascii);
        answer($soap, $opt, 'CompleteRequest', $id, 'completed',
               [id => $id], [leaseToken => $token], [outcome => $outcome]);
    }
    $run->{handled}++;
    $run->{count}{$outcome}++;
    record($out, {id => 0 + $id, outcome => $outcome, domains => \@unicode,
                  domainsAscii => \@ascii, arrival => $r->{arrival},
                  sha256 => $r->{sha256}, leaseToken => $token});
}

# decide: first come, first served, by A-label.
sub decide {
    my ($run, @ascii) = @_;
    my $reg = $run->{registered};
    return 'rejected' if grep { $reg->{lc $_} } @ascii;
    $reg->{lc $_} = 1 for @ascii;
    return 'accepted';
}

# answer: a call whose answer must be the given status.
sub answer {
    my ($soap, $opt, $op, $id, $want, @params) = @_;
    my $som = call($soap, $opt, $op, @params);
    my $status = $som->result;
    $status = '' unless defined $status;
    fail($EX_PROTOCOL, "call '$op' id $id: answered '$status', not '$want'")
        unless !ref $status && $status eq $want;
}

sub field {
    my ($r, $name) = @_;
    my $v = $r->{$name};
    my $id = defined $r->{id} && !ref $r->{id} ? $r->{id} : '?';
    fail($EX_DATAERR, "read request $id: no '$name'")
        unless defined $v && !ref $v && $v ne '';
    return $v;
}

# verify_raw: SOAP::Lite decodes a value typed xsd:base64Binary itself; an
# untyped (literal) answer leaves the base64 text, decoded here.
sub verify_raw {
    my ($r, $id) = @_;
    my $want = lc field($r, 'sha256');
    my $raw = $r->{raw};
    fail($EX_DATAERR, "read request $id: no 'raw'")
        unless defined $raw && !ref $raw;

    my $bytes = $raw;
    utf8::encode($bytes) if utf8::is_utf8($bytes);
    return if sha256_hex($bytes) eq $want;
    return if $raw =~ m{^[A-Za-z0-9+/=\s]*$}
        && sha256_hex(decode_base64($raw)) eq $want;
    fail($EX_DATAERR, "verify request $id: raw message does not hash to"
        . " sha256 $want");
}

# names: a DomainList as rpc/encoded (arrayref) or literal ({domain => x}
# or {domain => [...]}, or '' when empty) answers give it.
sub names {
    my ($v) = @_;
    return () if !defined $v || (!ref $v && $v eq '');
    return map { names($_) } @$v if reftype($v) && reftype($v) eq 'ARRAY';
    if (reftype($v) && reftype($v) eq 'HASH') {
        my @inner = values %$v;
        return map { names($_) } @inner;
    }
    return ($v);
}

sub record {
    my ($out, $line) = @_;
    return unless $out;
    print {$out} $JSON->encode($line), "\n"
        or fail($EX_CANTCREAT, "write result line: $!");
}

# call: one SOAP call in the chosen style; any fault or transport error
# ends the run with one line.
sub call {
    my ($soap, $opt, $op, @params) = @_;
    my @args = arguments($opt->{style}, @params);
    my $som = eval { $soap->call($op => @args) };
    if (!$som || !ref $som) {
        my $err = $@ || 'empty answer';
        $err =~ s/ at \S+ line \d+\.?\s*$//;
        # SOAP::Lite dies with the HTTP status line when it got no SOAP
        # answer at all, and with the parser's message on bad XML.
        my $code = $err =~ /^401 / ? $EX_NOPERM
                 : $err =~ /^\d{3} / ? $EX_UNAVAILABLE : $EX_PROTOCOL;
        $err =~ s/ at \S+ line \d+\.?\s.*//s;
        fail($code, "call '$op' at '$opt->{url}': $err");
    }
    if ($som->fault) {
        fail($EX_PROTOCOL, sprintf("call '%s': fault %s%s: %s", $op,
            $som->faultcode // '?', fault_detail($som->faultdetail),
            $som->faultstring // ''));
    }
    fail($EX_PROTOCOL, "call '$op': HTTP " . $soap->transport->status
        . " without a SOAP fault")
        unless $soap->transport->is_success;
    return $som;
}

sub fault_detail {
    my ($d) = @_;
    return '' unless ref $d && reftype($d) eq 'HASH';
    my $f = $d->{fault};
    return '' unless ref $f && reftype($f) eq 'HASH';
    my $s = defined $f->{code} ? " $f->{code}" : '';
    $s .= " ticket $f->{ticket}" if defined $f->{ticket} && !ref $f->{ticket};
    return $s;
}

sub arguments {
    my ($style, @params) = @_;
    if ($style eq 'default') {
        return map { $_->[1] } @params;
    } elsif ($style eq 'named') {
        return map { SOAP::Data->name($_->[0] => $_->[1]) } @params;
    } elsif ($style eq 'typed') {
        return map {
            SOAP::Data->name($_->[0])->type($XSD{$_->[0]} || 'string')
                ->value($_->[1])
        } @params;
    }
    return map { SOAP::Data->name($_->[0] => xml_escape($_->[1])) } @params;
}

sub xml_escape {
    my ($s) = @_;
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    return $s;
}
