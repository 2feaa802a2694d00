#!/usr/bin/perl
# Drains the queue the way a Perl registration system would, with
# SOAP::Lite: lease a batch, complete each request (or the whole batch
# in one CompleteRequests call), until nothing comes. Prints one JSON
# object per completed request.
#
#   drain.pl URL STYLE BATCH [LIMIT] [COMPLETE]
#   STYLE: positional | named | autotype0 | keepalive
#   COMPLETE: one (default) | many
use strict;
use warnings;
use SOAP::Lite;
use JSON::PP;
use Digest::SHA qw(sha256_hex);

my ($url, $style, $batch, $limit, $complete) = @ARGV;
die "usage: drain.pl URL STYLE BATCH [LIMIT] [COMPLETE]\n"
    unless $url && $style && $batch;
die "loopback only\n" unless $url =~ m{^http://127\.0\.0\.1:\d+/};
$limit ||= 100000;
$complete ||= 'one';

my @proxy = ($url, timeout => 30);
push @proxy, keep_alive => 1 if $style eq 'keepalive';
my $soap = SOAP::Lite->uri('urn:Suzanne')->proxy(@proxy);
$soap->autotype(0) if $style eq 'autotype0';
my $json = JSON::PP->new->utf8->canonical;

sub call {
    my ($op, @named) = @_;
    my $som;
    if ($style eq 'positional') {
        my @values;
        for (my $i = 1; $i < @named; $i += 2) { push @values, $named[$i]; }
        $som = $soap->call($op => @values);
    } else {
        my @params;
        for (my $i = 0; $i < @named; $i += 2) {
            push @params, SOAP::Data->name($named[$i] => $named[$i + 1]);
        }
        $som = $soap->call($op => @params);
    }
    die "$op: " . $som->faultcode . " " . $som->faultstring . "\n"
        if $som->fault;
    return $som;
}

my $done = 0;
my $rounds = 0;
while ($done < $limit && $rounds++ < 100000) {
    my $som = call('GetRequests', max => $batch, leaseSeconds => 300);
    my $list = $som->result;
    die "GetRequests: not a list\n" unless ref $list eq 'ARRAY';
    last unless @$list;
    complete_all($list) if $complete eq 'many';
    for my $r (@$list) {
        if ($complete eq 'one') {
            my $c = call('CompleteRequest', id => $r->{id},
                leaseToken => $r->{leaseToken}, outcome => 'accepted');
            die "CompleteRequest $r->{id}: " . $c->result . "\n"
                unless $c->result eq 'completed';
        }
        print $json->encode({
            id => 0 + $r->{id},
            subject => $r->{subject},
            from => $r->{from},
            body => $r->{body},
            sha256 => $r->{sha256},
            raw_sha256 => sha256_hex($r->{raw}),
            domains => [@{$r->{domains}}],
            domainsAscii => [@{$r->{domainsAscii}}],
            form => [map { [$_->{name}, $_->{value}] } @{$r->{form}}],
            state => $r->{state},
        }), "\n";
        $done++;
    }
}
print STDERR "# $done completed\n";

# One CompleteRequests call for a leased batch: a list of hashes that
# SOAP::Lite autotypes (a SOAP-ENC array of structs), or with
# autotype(0) the WSDL's completions/completion elements. The second
# item repeats the first, which must answer "completed" again.
sub complete_all {
    my ($list) = @_;
    my @items = map { {id => $_->{id}, leaseToken => $_->{leaseToken},
                       outcome => 'accepted'} } @$list;
    push @items, {%{$items[0]}, comment => "d\x{e9}j\x{e0} vu"};
    my $arg = \@items;
    if ($style eq 'autotype0') {
        $arg = \SOAP::Data->value(map {
            my $c = $_;
            SOAP::Data->name(completion => \SOAP::Data->value(
                map { SOAP::Data->name($_ => $c->{$_}) }
                    grep { $_ ne 'comment' } sort keys %$c));
        } @items);
    }
    my $som = $style eq 'positional'
        ? $soap->call(CompleteRequests => $arg)
        : $soap->call(CompleteRequests =>
                      SOAP::Data->name(completions => $arg));
    die "CompleteRequests: " . $som->faultcode . " " . $som->faultstring
        . "\n" if $som->fault;
    my $results = $som->result;
    die "CompleteRequests: not a list\n" unless ref $results eq 'ARRAY';
    die "CompleteRequests: " . @$results . " results for " . @items . "\n"
        unless @$results == @items;
    for my $i (0 .. $#items) {
        my $r = $results->[$i];
        die "CompleteRequests item $i: $r->{id} $r->{status}\n"
            unless $r->{id} eq $items[$i]{id} && $r->{status} eq 'completed';
    }
}
