/**
 * How an aggregate's stream is named: `<streamType>-<id>`. Each aggregate's module builds its
 * pair once, so the prefix is written in one place and every id has its inverse beside it.
 */
export interface StreamNames {
  streamType: string;
  /** The stream id of the aggregate `id`. */
  streamId(id: string): string;
  /** The aggregate id of a stream of this type, or undefined for another type's stream. */
  idOf(streamId: string): string | undefined;
}

export function streamNames(streamType: string): StreamNames {
  const prefix = `${streamType}-`;
  return {
    streamType,
    streamId: (id) => prefix + id,
    idOf: (streamId) => (streamId.startsWith(prefix) ? streamId.slice(prefix.length) : undefined),
  };
}
