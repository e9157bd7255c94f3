<?php
/*
 * A leaking HTTP/1.1 worker in plain PHP (Debian's php-cli, with its
 * sockets and pcntl extensions), for tests/integration/php_worker.sh.
 *
 *   php leaky_worker.php [LEAK_KIB]
 *
 * It accepts on fd 3, the listening socket leashd passes to a program with
 * "sockets =" (LISTEN_FDS, LISTEN_PID: systemd's protocol).  PHP opens an
 * inherited fd as php://fd/3, and socket_import_stream() makes of that a
 * Socket that socket_select() and socket_accept() work on.  All workers
 * share that one listener and its accept queue, so what a draining worker
 * leaves queued is taken by another one: nothing is lost.
 *
 * Each request leaks LEAK_KIB KiB (default 64) the way webman's docs show a
 * leak: a static array in the request handler that grows with every
 * request and is never emptied.  Each answer is "HTTP/1.1 200 OK" with the
 * body "ok PID" (Content-Length, Connection: close), as httpworker's, so
 * that "httpworker --get" counts the answers and who gave them.
 *
 * Once listening it sends READY=1 to $NOTIFY_SOCKET: one AF_UNIX datagram,
 * socket_create(AF_UNIX, SOCK_DGRAM) + socket_sendto(), sd_notify's
 * protocol.
 *
 * SIGTERM or SIGINT: it stops accepting, finishes the request in hand and
 * exits 0, through a pcntl_signal() handler as Workerman and webman have
 * (the accept loop wakes every 50 ms to look).  At its shutdown PHP puts
 * SIG_DFL back for the signals pcntl_signal() took, so a second drain
 * signal arriving then would kill the worker: the test's "exit status 0"
 * checks that leashd sends it once.  On stderr, at the end:
 * "leaky_worker[PID]: drained after N requests, exit 0".
 */

$leak_kib = isset($argv[1]) ? (int)$argv[1] : 64;
$requests = 0;

function say($msg)
{
	fwrite(STDERR, 'leaky_worker[' . getmypid() . "]: $msg\n");
}

function fail($msg)
{
	say($msg);
	exit(1);
}

/* The request handler: the leak is its static array. */
function handle_request($request)
{
	global $leak_kib;
	static $cache = [];

	$cache[] = str_repeat('x', $leak_kib * 1024);
	return 'ok ' . getmypid();
}

function serve($conn)
{
	global $requests;

	socket_set_block($conn);
	socket_set_option($conn, SOL_SOCKET, SO_RCVTIMEO, ['sec' => 5, 'usec' => 0]);
	socket_set_option($conn, SOL_SOCKET, SO_SNDTIMEO, ['sec' => 5, 'usec' => 0]);
	$req = '';
	while (strpos($req, "\r\n\r\n") === false && strlen($req) < 65536) {
		$chunk = @socket_read($conn, 8192, PHP_BINARY_READ);
		if ($chunk === false || $chunk === '') {
			socket_close($conn);
			return;
		}
		$req .= $chunk;
	}
	$body = handle_request($req);
	$requests++;
	$resp = "HTTP/1.1 200 OK\r\n" .
	    "Content-Type: text/plain\r\n" .
	    'Content-Length: ' . strlen($body) . "\r\n" .
	    "Connection: close\r\n\r\n" . $body;
	while ($resp !== '') {
		$n = @socket_write($conn, $resp);
		if ($n === false)
			break;
		$resp = (string)substr($resp, $n);
	}
	socket_close($conn);
}

/* sd_notify(): one datagram to $NOTIFY_SOCKET (a path; "@name" is an
 * abstract name, which PHP's socket_sendto() cannot reach). */
function notify($msg)
{
	$path = getenv('NOTIFY_SOCKET');
	if ($path === false || $path === '')
		return;
	$s = socket_create(AF_UNIX, SOCK_DGRAM, 0);
	if ($s === false)
		fail('socket_create(AF_UNIX, SOCK_DGRAM): ' .
		    socket_strerror(socket_last_error()));
	if (@socket_sendto($s, $msg, strlen($msg), 0, $path) !== strlen($msg))
		fail("sendto $path: " . socket_strerror(socket_last_error($s)));
	socket_close($s);
}

$stop = false;
function drain_handler($sig)
{
	global $stop;
	$stop = true;
}

if (!function_exists('socket_import_stream'))
	fail('no sockets extension');
if (!function_exists('pcntl_signal'))
	fail('no pcntl extension');
pcntl_async_signals(true);
if (!pcntl_signal(SIGTERM, 'drain_handler') ||
    !pcntl_signal(SIGINT, 'drain_handler'))
	fail('cannot handle SIGTERM');
if ((int)getenv('LISTEN_PID') !== getmypid() || (int)getenv('LISTEN_FDS') < 1)
	fail('no listening socket: LISTEN_PID=' . var_export(getenv('LISTEN_PID'), true) .
	    ' LISTEN_FDS=' . var_export(getenv('LISTEN_FDS'), true));
$stream = fopen('php://fd/3', 'r');
if ($stream === false)
	fail('cannot open php://fd/3');
$listener = socket_import_stream($stream);
if ($listener === false)
	fail('socket_import_stream(php://fd/3) failed');
/* Another worker may take a connection select() announced to us too. */
socket_set_nonblock($listener);

notify("READY=1\nSTATUS=serving on fd 3");

while (!$stop) {
	$r = [$listener];
	$w = null;
	$e = null;
	if (!@socket_select($r, $w, $e, 0, 50000))
		continue;
	$conn = @socket_accept($listener);
	if ($conn !== false)
		serve($conn);
	/* else EAGAIN: another worker took it */
}
say("drained after $requests requests, exit 0");
exit(0);
