import type { temporal } from '@temporalio/proto';

/*
 * What a recorded history says a workflow ran: its regular activities (scheduled through the
 * server) and its local ones (markers in the history).
 */

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The regular activities the history scheduled, in order. */
export const scheduledActivities = (events: readonly HistoryEvent[]): string[] =>
  events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);

/** The activity type a local activity's marker records; undefined for any other event. */
export function localActivityOf(e: HistoryEvent): string | undefined {
  const marker = e.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_local_activity' ? marker.details?.['data']?.payloads?.[0]?.data : undefined;
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type : undefined;
}

/** The local activities the history recorded, in order. */
export const localActivities = (events: readonly HistoryEvent[]): string[] => events.flatMap((e) => localActivityOf(e) ?? []);
