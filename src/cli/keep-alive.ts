/**
 * keep-alive: a long-running component (scheduler, controller manager, node agent) must live
 * until it is told to stop, even while it only waits — a standby waiting for its Lease holds no
 * socket, and the client library's timers are unref'd so that tests end cleanly. keepAlive
 * holds the process open until SIGTERM/SIGINT handling exits it.
 */

/** keepAlive holds the event loop open; call the returned function to let it go. */
export function keepAlive(): () => void {
  // A timer that fires once a day does nothing but keep the loop referenced.
  const t = setInterval(() => undefined, 24 * 60 * 60 * 1000);
  return () => clearInterval(t);
}
