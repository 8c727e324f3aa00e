// The private-conversation-id rule exactly once for the tests: the SDK's, which clients use too.
import { privateConversationId } from '../../client/src/ids';

export { privateConversationId };

/** The two ids of a private conversation in the wrong order (`p:<larger>:<smaller>`), which is refused. */
export function swappedPrivateConversationId(a: string, b: string): string {
  const [, low, high] = privateConversationId(a, b).split(':');
  return `p:${high}:${low}`;
}
