#!/usr/bin/perl
# suzanne-registry.pl - play the registration system against suzanne-soapd
#
# A registry's registration system, written as a Perl shop writes one with
# SOAP::Lite: lease the next requests (GetRequests), decide each one first
# come, first served, and report the outcomes (CompleteRequests, once per
# leased batch, or CompleteRequest per request), until the queue has
# stayed empty for a while. Used to rehearse a landrush end to end and in
# tests. Run with --help for the options.
#
# The decision rule: a request is accepted if none of its domain names
# (A-labels) has been registered yet in this run, and then registers them
# all; otherwise it is rejected. Every request's raw message must hash to
# its published SHA-256, or the run stops: the registry never decides on a
# request whose bytes it cannot trust.
#
# With --workers N, N forked processes drain the queue side by side. The
# names registered so far are then marker files in a private directory,
# created with O_EXCL, holding the ticket that registered them. This stays
# first come, first served because suzanne-soapd never leases a request
# while an earlier claimant of one of its names is open: the earlier one
# was decided (its markers written) and completed before the later one
# can be leased, whichever worker gets it.
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Fcntl qw(O_CREAT O_EXCL O_WRONLY);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use Getopt::Long qw(GetOptionsFromArray :config no_ignore_case bundling);
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use POSIX qw(WNOHANG);
use Scalar::Util qw(reftype);
use SOAP::Lite;
use Time::HiRes qw(CLOCK_MONOTONIC clock_gettime sleep);

my $ME = 'suzanne-registry';
my $NS = 'urn:Suzanne';
# Cpanel::JSON::XS when installed: JSON::PP costs about 80 microseconds
# a --out line, a second of a 12,000-request run. Same output.
my $JSON = (eval { require Cpanel::JSON::XS; Cpanel::JSON::XS->new }
            || JSON::PP->new)->utf8->canonical;

# sysexits
my $EX_USAGE       = 64;
my $EX_DATAERR     = 65;
my $EX_UNAVAILABLE = 69;
my $EX_SOFTWARE    = 70;
my $EX_CANTCREAT   = 73;
my $EX_TEMPFAIL    = 75;
my $EX_PROTOCOL    = 76;
my $EX_NOPERM      = 77;

# xsd types of the parameters, for --style typed; anything else is a string
my %XSD = (max => 'int', leaseSeconds => 'int', id => 'long',
           seconds => 'int');

# SOAP calls made, and the seconds they took, by operation (--verbose)
my %CALLS;

my $USAGE = <<"EOT";
usage: $ME [options]

Leases requests from suzanne-soapd over SOAP and completes each one as a
registration system would: first come, first served.

  --url URL          SOAP endpoint (default http://127.0.0.1:8780/soap)
  --batch N          GetRequests max, 1..1000 (default 10)
  --lease S          GetRequests leaseSeconds (default 300)
  --fields LIST      GetRequests fields: the Request elements to send
                     (default "arrival domains domainsAscii raw sha256",
                     what this program uses; "all": every element)
  --style STYLE      how SOAP::Lite builds the calls (default: default)
        default  SOAP::Lite's own rpc style: positional parameters
                 (c-gensymN), every value autotyped
        named    SOAP::Data->name(k => v), autotyped
        typed    SOAP::Data with explicit xsd types (int, long, string)
        doc      autotype(0) with default_ns: untyped, namespace-qualified
                 children; values XML-escaped here, as SOAP::Lite does not
  --keep-alive       reuse one HTTP connection for all calls
  --complete HOW     batch (default): one CompleteRequests call per leased
                     batch; one: a CompleteRequest call per request
  --workers N        N processes drain the queue side by side (default 1)
  --auth-file FILE   HTTP Basic credentials, a "user:password" line (the
                     format of suzanne-soapd's auth_file)
  --hold-domain RE   HoldRequest instead of deciding requests that name a
                     domain (Unicode or A-label) matching the Perl regex RE
  --idle-exit SECS   exit once the queue has been empty this long (default 2)
  --max N            handle at most N requests, then exit
  --out FILE         one JSON line per request handled: id, outcome,
                     domains, domainsAscii, arrival, sha256, leaseToken;
                     in the order handled, or with --workers in arrival
                     order
  --delay-ms N       wait N ms on each request, as a slow system does
  --deadline SECS    give up after SECS in all (default 3600; exit 75)
  --timeout SECS     HTTP timeout of one call (default 60)
  --verbose          summary lines on stderr at the end: outcomes, and
                     the calls made with the seconds they took
  --help             this text

Exit: 0 done; 64 usage; 65 a request's raw bytes do not match its sha256,
or an answer lacks a field; 69 the server cannot be reached; 70 a worker
died of a signal; 73 --out or a marker file cannot be written; 75
deadline reached; 76 a SOAP fault, an item of CompleteRequests not
completed, or an answer that is not the contract's; 77 the credentials
were refused. With --workers, the first failing worker's status (the
others are stopped).
EOT

main(@ARGV);

sub main {
    my $opt = options(@_);
    exit workers($opt) if $opt->{workers} > 1;
    my $run = drain($opt);
    summary($opt, $run->{handled}, $run->{count}) if $opt->{verbose};
    exit 0;
}

# workers: fork the workers, wait for them (bounded by the deadline),
# merge their --out files by arrival. Returns the exit status.
sub workers {
    my ($opt) = @_;
    my $n = $opt->{workers};
    my $dir = tempdir("$ME.XXXXXX", TMPDIR => 1);
    mkdir "$dir/names" or fail($EX_CANTCREAT, "create '$dir/names': $!");
    my %pids;
    for my $i (1 .. $n) {
        my %mine = (%$opt, worker => $i, names => "$dir/names",
                    out => "$dir/out.$i");
        # --max is shared out: the first workers take the remainder.
        $mine{max} = int($opt->{max} / $n) + ($i <= $opt->{max} % $n)
            if defined $opt->{max};
        my $pid = fork;
        if (!defined $pid) {
            stop(\%pids);
            remove_tree($dir);
            fail($EX_SOFTWARE, "fork worker $i: $!");
        }
        if ($pid == 0) {
            my $run = drain(\%mine);
            summary(\%mine, $run->{handled}, $run->{count})
                if $opt->{verbose};
            POSIX::_exit(0);
        }
        $pids{$pid} = $i;
    }
    # Interrupted, the workers are stopped too: no orphan keeps leasing.
    local $SIG{INT} = local $SIG{TERM} = sub {
        stop(\%pids);
        remove_tree($dir);
        fail($EX_TEMPFAIL, "drain '$opt->{url}': interrupted");
    };

    my $status = reap(\%pids, $opt->{deadline} + 30);
    $status ||= merge($opt, $dir, $n);
    remove_tree($dir);
    return $status;
}

# reap: wait for every worker, at most $limit seconds. The first failure
# stops the others and is the status; so is the deadline (75).
sub reap {
    my ($pids, $limit) = @_;
    my $until = now() + $limit;
    my $status = 0;
    while (%$pids) {
        my $pid = waitpid(-1, WNOHANG);
        last if $pid < 0;    # no child left to wait for
        if ($pid > 0) {
            my $i = delete $pids->{$pid};
            next unless defined $i;
            my $code = $? & 127 ? $EX_SOFTWARE : $? >> 8;
            if ($code && !$status) {
                $status = $code;
                stop($pids);
            }
            next;
        }
        if (now() > $until) {
            print STDERR "$ME: wait for workers: still running after"
                . " $limit s; stopped\n";
            stop($pids);
            return $EX_TEMPFAIL;
        }
        sleep(0.05);
    }
    return $status;
}

# stop: end the workers still running, by their pids, and reap them.
sub stop {
    my ($pids) = @_;
    my @left = keys %$pids;
    return unless @left;
    kill 'TERM', @left;
    my $until = now() + 5;
    while (%$pids && now() < $until) {
        my $pid = waitpid(-1, WNOHANG);
        if ($pid > 0) { delete $pids->{$pid}; next }
        sleep(0.05);
    }
    kill 'KILL', keys %$pids;
    waitpid($_, 0) for keys %$pids;
    %$pids = ();
}

# merge: the workers' lines, by arrival then ticket, into --out; the
# totals for --verbose.
sub merge {
    my ($opt, $dir, $n) = @_;
    my (@lines, %count);
    for my $i (1 .. $n) {
        my $path = "$dir/out.$i";
        open(my $in, '<:raw', $path) or fail($EX_CANTCREAT, "open '$path': $!");
        while (my $line = <$in>) {
            # Lines written by this program: canonical JSON, keys sorted.
            my ($arrival) = $line =~ /"arrival":"([^"]*)"/;
            my ($id) = $line =~ /"id":(\d+)/;
            my ($outcome) = $line =~ /"outcome":"([a-z]+)"/;
            $count{$outcome // '?'}++;
            push @lines, [$arrival // '', $id // 0, $line];
        }
        close $in;
    }
    if (defined $opt->{out}) {
        my $out = open_out($opt->{out});
        print {$out} map { $_->[2] }
            sort { $a->[0] cmp $b->[0] || $a->[1] <=> $b->[1] } @lines
            or fail($EX_CANTCREAT, "write '$opt->{out}': $!");
        close $out or fail($EX_CANTCREAT, "close '$opt->{out}': $!");
    }
    # The parent made no calls: its summary is the outcomes alone.
    summary({}, scalar @lines, \%count) if $opt->{verbose};
    return 0;
}

# drain: one process's whole run; any failure exits from within.
sub drain {
    my ($opt) = @_;
    my $soap = client($opt);
    my $out = open_out($opt->{out});
    my $run = {registered => {}, handled => 0,
               count => {accepted => 0, rejected => 0, held => 0}};

    serve($soap, $opt, $out, $run);

    if ($out) {
        close $out or fail($EX_CANTCREAT, "close '$opt->{out}': $!");
    }
    return $run;
}

sub summary {
    my ($opt, $handled, $c) = @_;
    my $who = defined $opt->{worker} ? "worker $opt->{worker}: " : '';
    printf STDERR "%s: %shandled=%d accepted=%d rejected=%d held=%d\n",
        $ME, $who, $handled, map { $c->{$_} // 0 } qw(accepted rejected held);
    my @calls = map { sprintf '%s=%d/%.2fs', $_, @{$CALLS{$_}} }
        sort keys %CALLS;
    printf STDERR "%s: %scalls %s\n", $ME, $who, join(' ', @calls)
        if @calls;
}

sub options {
    my @argv = @_;
    my %o = (url => 'http://127.0.0.1:8780/soap', batch => 10,
             lease => 300, style => 'default', 'idle-exit' => 2,
             'delay-ms' => 0, deadline => 3600, timeout => 60,
             complete => 'batch', workers => 1,
             fields => 'arrival domains domainsAscii raw sha256');
    GetOptionsFromArray(\@argv, \%o, 'url=s', 'batch=i', 'lease=i',
        'style=s', 'keep-alive', 'auth-file=s', 'hold-domain=s',
        'idle-exit=f', 'max=i', 'out=s', 'delay-ms=i', 'deadline=f',
        'timeout=i', 'verbose', 'complete=s', 'workers=i', 'fields=s',
        'help|h')
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
    usage("--complete must be one or batch")
        unless $o{complete} =~ /^(?:one|batch)$/;
    usage("--workers must be 1..32") if $o{workers} < 1 || $o{workers} > 32;
    usage("--max must be at least --workers")
        if defined $o{max} && $o{max} < $o{workers};
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
        my @decided = map { handle($soap, $opt, $run, $_) } @requests;
        complete_batch($soap, $opt, [grep { !$_->{done} } @decided]);
        for my $d (@decided) {
            $run->{handled}++;
            $run->{count}{$d->{line}{outcome}}++;
            record($out, $d->{line});
        }
        $idle_since = now();
    }
}

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

sub get_requests {
    my ($soap, $opt, $max) = @_;
    # SOAP::Lite spends about 80 microseconds on each element of an
    # answer: asking only for the elements used halves a batch's cost.
    my @fields = $opt->{fields} eq 'all' ? () : ([fields => $opt->{fields}]);
    my $som = call($soap, $opt, 'GetRequests',
                   [max => $max], [leaseSeconds => $opt->{lease}], @fields);
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

# handle: check and decide one request. Held requests, and every request
# under --complete one, are answered at once ({done} set); the others
# wait for their batch's CompleteRequests.
sub handle {
    my ($soap, $opt, $run, $r) = @_;
    fail($EX_PROTOCOL, "call 'GetRequests': a request is not a structure")
        unless ref $r && reftype($r) eq 'HASH';
    my $id = field($r, 'id');
    my $token = field($r, 'leaseToken');
    verify_raw($r, $id);
    my @ascii = names($r->{domainsAscii});
    my @unicode = names($r->{domains});

    sleep($opt->{'delay-ms'} / 1000) if $opt->{'delay-ms'};

    my ($outcome, $done);
    if ($opt->{hold_re} && grep { $_ =~ $opt->{hold_re} } @unicode, @ascii) {
        $outcome = 'held';
        answer($soap, $opt, 'HoldRequest', $id, 'held',
               [id => $id], [leaseToken => $token],
               [reason => 'held by the registry for review']);
        $done = 1;
    } else {
        $outcome = $opt->{names} ? decide_shared($opt->{names}, $id, @ascii)
                                 : decide($run, @ascii);
        if ($opt->{complete} eq 'one') {
            answer($soap, $opt, 'CompleteRequest', $id, 'completed',
                   [id => $id], [leaseToken => $token],
                   [outcome => $outcome]);
            $done = 1;
        }
    }
    return {id => $id, token => $token, done => $done,
            line => {id => 0 + $id, outcome => $outcome,
                     domains => \@unicode, domainsAscii => \@ascii,
                     arrival => $r->{arrival}, sha256 => $r->{sha256},
                     leaseToken => $token}};
}

# decide: first come, first served, by A-label.
sub decide {
    my ($run, @ascii) = @_;
    my $reg = $run->{registered};
    return 'rejected' if grep { $reg->{lc $_} } @ascii;
    $reg->{lc $_} = 1 for @ascii;
    return 'accepted';
}

# decide_shared: decide's rule over the marker files of every worker. A
# marker naming this very ticket is its own (the request was leased
# again after a lease ran out): it stays accepted.
sub decide_shared {
    my ($dir, $id, @ascii) = @_;
    for my $name (@ascii) {
        my $owner = marker_owner($dir, $name);
        return 'rejected' if defined $owner && $owner ne $id;
    }
    my @mine;
    for my $name (@ascii) {
        my $path = marker($dir, $name);
        if (sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL, 0600)) {
            print {$fh} $id
                or fail($EX_CANTCREAT, "write marker '$path': $!");
            close $fh or fail($EX_CANTCREAT, "write marker '$path': $!");
            push @mine, $path;
            next;
        }
        fail($EX_CANTCREAT, "create marker '$path': $!") unless $!{EEXIST};
        next if (marker_owner($dir, $name) // '') eq $id;
        # Another worker was first: it wins the name, and this request
        # registers none of its names.
        unlink @mine;
        return 'rejected';
    }
    return 'accepted';
}

# marker: a name's marker file; a name that is not a plain A-label is
# hashed so that it cannot name another path.
sub marker {
    my ($dir, $name) = @_;
    $name = lc $name;
    $name = '=' . sha256_hex($name) unless $name =~ /^[a-z0-9][a-z0-9.-]{0,200}$/;
    return "$dir/$name";
}

# marker_owner: the ticket that registered a name, or undef. A marker
# still being written reads as '' (another ticket's).
sub marker_owner {
    my ($dir, $name) = @_;
    my $path = marker($dir, $name);
    open(my $fh, '<', $path) or do {
        return undef if $!{ENOENT};
        fail($EX_CANTCREAT, "read marker '$path': $!");
    };
    my $owner = <$fh> // '';
    close $fh;
    return $owner;
}

# complete_batch: one CompleteRequests call for the decided requests;
# every item must come back completed, in order.
sub complete_batch {
    my ($soap, $opt, $decided) = @_;
    return unless @$decided;
    my @items = map { {id => $_->{id}, leaseToken => $_->{token},
                       outcome => $_->{line}{outcome}} } @$decided;
    my $som = call($soap, $opt, 'CompleteRequests',
                   [completions => completion_list($opt->{style}, @items)]);
    my $result = $som->result;
    my @results = ref $result && reftype($result) eq 'ARRAY' ? @$result
        : $som->valueof('//CompleteRequestsResponse/result');
    fail($EX_PROTOCOL, sprintf("call 'CompleteRequests': %d results for"
        . " %d completions", scalar @results, scalar @items))
        unless @results == @items;
    for my $i (0 .. $#items) {
        my $got = $results[$i];
        my ($id, $status) = ref $got && reftype($got) eq 'HASH'
            ? @{$got}{qw(id status)} : ('', '');
        $_ //= '' for $id, $status;
        fail($EX_PROTOCOL, "call 'CompleteRequests' id $items[$i]{id}:"
            . " answered '$status' for id '$id', not 'completed'")
            unless $id eq $items[$i]{id} && $status eq 'completed';
    }
}

# completion_list: the CompleteRequests list in the chosen style. The
# default and named styles let SOAP::Lite autotype a list of hashes (a
# SOAP-ENC array of structs); typed gives every leaf its xsd type; doc
# is the WSDL's completions/completion elements, untyped.
sub completion_list {
    my ($style, @items) = @_;
    return \@items if $style eq 'default' || $style eq 'named';
    my @structs = map {
        my $c = $_;
        my @leaves = map {
            $style eq 'typed'
                ? SOAP::Data->name($_)->type($XSD{$_} || 'string')
                    ->value($c->{$_})
                : SOAP::Data->name($_ => xml_escape($c->{$_}))
        } qw(id leaseToken outcome);
        SOAP::Data->name(completion => \SOAP::Data->value(@leaves));
    } @items;
    return \@structs if $style eq 'typed';
    return \SOAP::Data->value(@structs);
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
    my $t0 = now();
    my $som = eval { $soap->call($op => @args) };
    my $stat = $CALLS{$op} //= [0, 0];
    $stat->[0]++;
    $stat->[1] += now() - $t0;
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

# arguments: [name => value] pairs as the style sends them; a list (a
# reference, built by completion_list) is never typed or escaped here.
sub arguments {
    my ($style, @params) = @_;
    if ($style eq 'default') {
        return map { $_->[1] } @params;
    }
    return map {
        my ($name, $value) = @$_;
        ref $value || $style eq 'named' ? SOAP::Data->name($name => $value)
        : $style eq 'typed'
            ? SOAP::Data->name($name)->type($XSD{$name} || 'string')
                ->value($value)
        : SOAP::Data->name($name => xml_escape($value));
    } @params;
}

sub xml_escape {
    my ($s) = @_;
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    return $s;
}
