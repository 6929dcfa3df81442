import { deliveredTypes, publishAclSetting, SUBSCRIBER_NAMES, subscribersSetting } from '../src/registry';

describe('subscribersSetting', () => {
  it('lists every subscriber at its URL with the types it is delivered live, in batches', () => {
    const setting = subscribersSetting((name) => `http://${name}.test/events`);

    expect(setting.split(',')).toEqual(
      SUBSCRIBER_NAMES.map(
        (name) => `${name}=http://${name}.test/events|types=${deliveredTypes(name).join('+')}|batch`,
      ),
    );
    expect(setting).toContain('moderation=http://moderation.test/events|types=CommentCreated|batch');
  });
});

describe('publishAclSetting', () => {
  it('gives each publisher exactly the types it publishes', () => {
    expect(publishAclSetting()).toBe(
      'posts=PostCreated,comments=CommentCreated+CommentUpdated,moderation=CommentModerated',
    );
  });
});
