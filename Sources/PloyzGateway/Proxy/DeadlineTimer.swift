import NIOCore

/// A deadline that closes a channel when it passes, cheap to move: setting a new deadline only
/// stores it, and one scheduled task re-arms itself while the deadline keeps moving forward, so a
/// busy keep-alive connection does not schedule a timer per request.
struct DeadlineTimer {
    private var deadline: NIODeadline?
    private var task: Scheduled<Void>?
    /// When `task` fires; a new deadline earlier than this needs a new task.
    private var taskDeadline = NIODeadline.distantFuture

    /// Sets (or clears, with nil) the deadline; `onExpiry` runs on the event loop once it passes.
    mutating func set(_ newDeadline: NIODeadline?, on eventLoop: EventLoop, onExpiry: @escaping () -> Void) {
        deadline = newDeadline
        guard let newDeadline else { return }
        if task != nil {
            guard newDeadline < taskDeadline else { return }
            task?.cancel()
        }
        taskDeadline = newDeadline
        task = eventLoop.scheduleTask(deadline: newDeadline) { onExpiry() }
    }

    /// Called from `onExpiry`: true when the deadline really passed; otherwise re-arms for the moved deadline.
    mutating func fired(on eventLoop: EventLoop, onExpiry: @escaping () -> Void) -> Bool {
        task = nil
        guard let deadline else { return false }
        if deadline <= .now() { return true }
        taskDeadline = deadline
        task = eventLoop.scheduleTask(deadline: deadline) { onExpiry() }
        return false
    }

    mutating func cancel() {
        deadline = nil
        task?.cancel()
        task = nil
    }
}
