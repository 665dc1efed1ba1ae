"""The service's customer-managed KMS key: encrypts its logs, alarm topics, table and function environment."""

from __future__ import annotations

from golive.deploy.builder import KEY_ID, Builder
from golive.deploy.cfn import sub

ENCRYPT_ACTIONS = ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


def add_key(b: Builder) -> None:
    # A key policy is the one IAM document where Resource "*" means "this key", not "everything".
    statements = [
        {"Sid": "AccountAdministersKey", "Effect": "Allow",
         "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogsEncrypt", "Effect": "Allow",
         "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
         "Action": ENCRYPT_ACTIONS, "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": sub(
             "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")}}},
        # Alarms publish to the encrypted SNS topics: CloudWatch needs to use the key for that.
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
    ]
    b.add(KEY_ID, "AWS::KMS::Key", {
        "Description": sub("${AWS::StackName}: logs, alarm topics, tables and function environment"),
        "EnableKeyRotation": True,
        "KeyPolicy": {"Version": "2012-10-17", "Statement": statements},
        "Tags": b.tag_list,
    }, DeletionPolicy="Retain", UpdateReplacePolicy="Retain")  # the retained table stays readable
    b.add("ServiceKeyAlias", "AWS::KMS::Alias", {
        "AliasName": sub("alias/${AWS::StackName}"), "TargetKeyId": {"Ref": KEY_ID}})
