#!/usr/bin/perl
# mock-soapd.pl - a stand-in for suzanne-soapd, to test the registry program
#
# Serves the SOAP contract's queue operations (GetRequests, CompleteRequest,
# HoldRequest) on 127.0.0.1:PORT, answering in the rpc/encoded shape a
# SOAP::Lite caller gets, for requests read from a JSON-lines file:
#   {"id":1,"domains":["café.fr"],"domainsAscii":["xn--caf-dma.fr"],
#    "raw":"message text"}
# It applies the queue rule (a request waits while an earlier open request
# names one of its domains) and logs each call as a JSON line: op, params,
# whether values were typed (and as xsd:long), whether parameters were
# positional (c-gensymN), and the connection number.
#
# usage: mock-soapd.pl --port P --requests FILE --log FILE
#        [--bad-sha ID] [--stale ID] [--auth USER:PASSWORD] [--seconds N]
# --bad-sha publishes a wrong sha256 for ID; --stale answers a stale-lease
# fault to CompleteRequest for ID; --auth requires HTTP Basic (401 with a
# challenge otherwise); --seconds bounds the run (default 60).
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Encode qw(encode);
use Getopt::Long;
use HTTP::Daemon;
use HTTP::Response;
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use SOAP::Lite;

my %o = (seconds => 60, 'bad-sha' => 0, stale => 0);
GetOptions(\%o, 'port=i', 'requests=s', 'log=s', 'bad-sha=i', 'stale=i',
           'auth=s', 'seconds=i') && $o{port} && $o{requests} && $o{log}
    or die "usage: mock-soapd.pl --port P --requests FILE --log FILE\n";

my $JSON = JSON::PP->new->utf8->canonical;
my @queue = load($o{requests});
my %by_id = map { $_->{id} => $_ } @queue;
open(my $log, '>:raw', $o{log}) or die "open '$o{log}': $!\n";
$log->autoflush(1);

my $d = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => $o{port},
                          ReuseAddr => 1)
    or die "listen on 127.0.0.1:$o{port}: $!\n";
alarm $o{seconds};
my $conn = 0;
while (my $c = $d->accept) {
    $conn++;
    while (my $req = $c->get_request) {
        $c->send_response(authorized($req) ? answer($req->content)
                                           : unauthorized());
    }
    $c->close;
}

sub authorized {
    my ($req) = @_;
    return 1 unless $o{auth};
    my $h = $req->header('Authorization') // '';
    my $ok = $h =~ /^Basic (\S+)$/ && decode_base64($1) eq $o{auth};
    print {$log} $JSON->encode({op => 'auth', ok => $ok ? 1 : 0,
                                conn => $conn}), "\n";
    return $ok;
}

sub unauthorized {
    return HTTP::Response->new(401, 'Unauthorized',
        ['WWW-Authenticate' => 'Basic realm="suzanne"',
         'Content-Type' => 'text/plain'], "unauthorized\n");
}

sub load {
    my ($path) = @_;
    open(my $in, '<:raw', $path) or die "open '$path': $!\n";
    my @q;
    while (my $line = <$in>) {
        my $r = $JSON->decode($line);
        $r->{bytes} = encode('UTF-8', $r->{raw});
        $r->{state} = 'pending';
        $r->{leases} = 0;
        push @q, $r;
    }
    return @q;
}

sub answer {
    my ($xml) = @_;
    my $som = SOAP::Deserializer->deserialize($xml);
    my $op = $som->dataof('/Envelope/Body/[1]')->name;
    my @params = map { $_->value } $som->dataof('/Envelope/Body/[1]/[>0]');
    print {$log} $JSON->encode({op => $op, params => \@params,
        typed => ($xml =~ /xsi:type=/ ? 1 : 0),
        gensym => ($xml =~ /c-gensym/ ? 1 : 0),
        long => ($xml =~ /xsi:type="xsd:long"/ ? 1 : 0), conn => $conn}), "\n";
    return get_requests(@params) if $op eq 'GetRequests';
    return finish('completed', @params) if $op eq 'CompleteRequest';
    return finish('held', @params) if $op eq 'HoldRequest';
    return fault('unknown-operation', 0, "no operation $op");
}

sub get_requests {
    my ($max) = @_;
    my (%blocked, @out);
    for my $r (@queue) {
        next if $r->{state} eq 'completed';
        my $free = !grep { $blocked{$_} } @{$r->{domainsAscii}};
        $blocked{$_} = 1 for @{$r->{domainsAscii}};
        next unless $free && $r->{state} eq 'pending' && @out < $max;
        $r->{state} = 'leased';
        $r->{token} = "L-$r->{id}-" . ++$r->{leases};
        push @out, $r;
    }
    my $items = join '', map { request_xml($_) } @out;
    return envelope(200, '<tns:GetRequestsResponse><return'
        . ' xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="tns:Request['
        . scalar(@out) . "]\">$items</return></tns:GetRequestsResponse>");
}

sub finish {
    my ($state, $id, $token) = @_;
    my $r = $by_id{$id} or return fault('no-such-request', $id, 'no such');
    return fault('stale-lease', $id, 'not the current lease')
        if $token ne ($r->{token} // '') || $id == $o{stale};
    $r->{state} = $state;
    my $op = $state eq 'held' ? 'HoldRequest' : 'CompleteRequest';
    return envelope(200, "<tns:${op}Response><status"
        . " xsi:type=\"xsd:string\">$state</status></tns:${op}Response>");
}

sub request_xml {
    my ($r) = @_;
    my $sha = sha256_hex($r->{bytes});
    $sha = '0' x 64 if $r->{id} == $o{'bad-sha'};
    return '<request xsi:type="tns:Request">'
        . leaf(id => 'long', $r->{id})
        . leaf(arrival => 'dateTime', '2004-05-11T09:00:00.000001Z')
        . leaf(envelopeSender => 'string', 'registrar@client.test')
        . leaf(subject => 'string', "request $r->{id}")
        . list(domains => $r->{domains})
        . list(domainsAscii => $r->{domainsAscii})
        . '<form xsi:type="SOAP-ENC:Array"'
        . ' SOAP-ENC:arrayType="tns:FormField[0]"/>'
        . leaf(raw => 'base64Binary', encode_base64($r->{bytes}, ''))
        . leaf(sha256 => 'string', $sha)
        . leaf(state => 'string', 'leased')
        . leaf(leaseToken => 'string', $r->{token})
        . '</request>';
}

sub leaf {
    my ($name, $type, $v) = @_;
    return "<$name xsi:type=\"xsd:$type\">" . esc($v) . "</$name>";
}

sub list {
    my ($name, $items) = @_;
    return "<$name xsi:type=\"SOAP-ENC:Array\" SOAP-ENC:arrayType="
        . '"xsd:string[' . scalar(@$items) . ']">'
        . join('', map { leaf(domain => 'string', $_) } @$items)
        . "</$name>";
}

sub esc {
    my ($s) = @_;
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    return $s;
}

sub fault {
    my ($code, $id, $text) = @_;
    return envelope(500, '<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client'
        . "</faultcode><faultstring>$text</faultstring><detail>"
        . '<s:fault xmlns:s="urn:Suzanne">'
        . "<code>$code</code><ticket>$id</ticket></s:fault></detail>"
        . '</SOAP-ENV:Fault>');
}

sub envelope {
    my ($status, $body) = @_;
    my $xml = '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope'
        . ' xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"'
        . ' xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"'
        . ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        . ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        . ' xmlns:tns="urn:Suzanne" SOAP-ENV:encodingStyle='
        . '"http://schemas.xmlsoap.org/soap/encoding/">'
        . "<SOAP-ENV:Body>$body</SOAP-ENV:Body></SOAP-ENV:Envelope>";
    return HTTP::Response->new($status, $status == 200 ? 'OK' : 'Error',
        ['Content-Type' => 'text/xml; charset=utf-8'], encode('UTF-8', $xml));
}
